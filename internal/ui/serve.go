package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/proc"
)

// ServeOptions are the `ui` target's flags.
type ServeOptions struct {
	Host string // default 127.0.0.1; any other than a loopback address needs the token
	Port int    // default 8080; 0 picks a free one
	Open bool   // open the address in a browser, where one can be found
	// Ready, when set, is called with the address once the server listens
	// (tests).
	Ready func(url string)
}

// Serve serves the UI over l until ctx ends, printing its address to out.
func Serve(ctx context.Context, l *ledger.Ledger, o ServeOptions, out io.Writer) error {
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	s := NewServer(l)
	if !IsLoopback(host) {
		t, err := NewToken()
		if err != nil {
			return err
		}
		s.Token = t
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(o.Port)))
	if err != nil {
		return fmt.Errorf("ui: listen on %s port %d: %w (another -port=N, or stop what holds it)", host, o.Port, err)
	}
	url := "http://" + ln.Addr().String() + "/"
	if s.Token != "" {
		url += "?token=" + s.Token
		fmt.Fprintf(out, "magelab UI on %s\n  -host=%s is not loopback: anyone who can reach it needs this token (it is kept as a cookie after the first visit)\n", url, host)
	} else {
		fmt.Fprintf(out, "magelab UI on %s (read-only, this machine only; Ctrl-C stops it)\n", url)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	if o.Ready != nil {
		o.Ready(url)
	}
	if o.Open {
		openBrowser(ctx, url, out)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// openBrowser opens url with the desktop's opener, when there is one.
func openBrowser(ctx context.Context, url string, out io.Writer) {
	name := "xdg-open"
	if runtime.GOOS == "darwin" {
		name = "open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		fmt.Fprintf(out, "-open: no %s here; open %s yourself\n", name, url)
		return
	}
	go func() {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if res, err := proc.Run(octx, proc.Command{Path: path, Args: []string{url}}); err != nil || res.ExitCode != 0 {
			fmt.Fprintf(out, "-open: %s could not open the page; open %s yourself\n", name, url)
		}
	}()
}
