package search

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/proc"
)

// callTimeout bounds one answer of the helper: a healthy one answers in
// milliseconds, so a silent one is stuck, and the sweep must not hang on it.
const callTimeout = 2 * time.Minute

// helper is the running helper process and its JSON-lines protocol: one
// request at a time, each answered by one line.
type helper struct {
	p      *proc.Process
	in     *os.File    // the write end of the helper's stdin
	lines  chan []byte // its stdout, line by line; closed at its end
	stderr *lineTail
	mu     sync.Mutex // one request at a time
}

// HelperError is the helper gone: it exited or stopped answering. The
// study's journal holds everything told before, so running the sweep again
// resumes it.
type HelperError struct {
	Op      string   // the request that got no answer
	How     string   // how it ended: "exit status 1", "signal: killed", "no answer in 2m0s"
	Stderr  []string // its last lines of stderr
	Journal string   // the study's journal, which stays as it was
}

func (e *HelperError) Error() string {
	msg := fmt.Sprintf("optuna helper: %s during %s", e.How, e.Op)
	if len(e.Stderr) > 0 {
		msg += "; its last lines:\n    " + strings.Join(e.Stderr, "\n    ")
	}
	if e.Journal != "" {
		msg += "\nthe study is intact in " + e.Journal + ": run the same command again to resume the sweep"
	}
	return msg
}

// startHelper starts python script with stdin and stdout as the protocol's
// pipes; its stderr goes to log and is kept for error messages.
func startHelper(python, script string, env []string, log io.Writer) (*helper, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("optuna helper: %w", err)
	}
	outR, outW := io.Pipe()
	h := &helper{in: inW, lines: make(chan []byte, 1), stderr: &lineTail{max: 20}}
	var stderr io.Writer = h.stderr
	if log != nil {
		stderr = io.MultiWriter(h.stderr, log)
	}
	h.p, err = proc.Start(proc.Command{Path: python, Args: []string{"-u", script}, Env: env, Stdin: inR, Output: outW, Stderr: stderr})
	inR.Close() // the child has its own copy
	if err != nil {
		inW.Close()
		return nil, fmt.Errorf("optuna helper: %w", err)
	}
	go func() { // the helper's output ends when the process has
		<-h.p.Done()
		outW.Close()
	}()
	go h.read(outR)
	return h, nil
}

// read passes the helper's stdout on line by line until it ends.
func (h *helper) read(r io.Reader) {
	defer close(h.lines)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20) // the trials op lists a whole study
	for sc.Scan() {
		h.lines <- append([]byte(nil), sc.Bytes()...)
	}
	io.Copy(io.Discard, r)
}

// call sends req (with its op) and decodes the answer into resp. An
// answer {"error": ...} is an error of the request; no answer is a
// *HelperError. A request is never abandoned half-way (its answer would
// come to the next one): one that gets no answer in callTimeout stops the
// helper.
func (h *helper) call(op string, req map[string]any, resp any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req == nil {
		req = map[string]any{}
	}
	req["op"] = op
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("optuna helper: encode %s: %w", op, err)
	}
	if _, err := h.in.Write(append(line, '\n')); err != nil {
		return h.gone(op, "")
	}
	t := time.NewTimer(callTimeout)
	defer t.Stop()
	var answer []byte
	select {
	case a, ok := <-h.lines:
		if !ok {
			return h.gone(op, "")
		}
		answer = a
	case <-t.C:
		h.p.Stop(time.Second) // a stuck helper would answer this request late, to the next one
		return h.gone(op, fmt.Sprintf("no answer in %s", callTimeout))
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &e); err != nil {
		return fmt.Errorf("optuna helper: %s: answer %q is not JSON: %w", op, truncate(string(answer), 200), err)
	}
	if e.Error != "" {
		return fmt.Errorf("optuna: %s: %s", op, e.Error)
	}
	if resp == nil {
		return nil
	}
	return json.Unmarshal(answer, resp)
}

// gone is the *HelperError for op, once the process has ended.
func (h *helper) gone(op, how string) error {
	h.in.Close()
	res, err := h.p.Wait()
	if how == "" {
		how = "exited (" + res.String() + ")"
		if err != nil {
			how = err.Error()
		}
	}
	return &HelperError{Op: op, How: how, Stderr: h.stderr.lines()}
}

// close asks the helper to end and waits for it; a helper that does not
// end within grace is stopped.
func (h *helper) close(grace time.Duration) {
	done := make(chan struct{})
	go func() {
		h.call("close", nil, nil)
		close(done)
	}()
	select {
	case <-done:
	case <-h.p.Done():
	case <-time.After(grace):
	}
	h.in.Close()
	select {
	case <-h.p.Done():
	case <-time.After(grace):
		h.p.Stop(grace)
	}
	h.p.Wait()
}

// Done is closed once the helper process has ended.
func (h *helper) Done() <-chan struct{} { return h.p.Done() }

// lineTail keeps the last max lines written to it.
type lineTail struct {
	mu      sync.Mutex
	max     int
	partial []byte
	kept    []string
}

func (l *lineTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		l.kept = append(l.kept, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		if len(l.kept) > l.max {
			l.kept = l.kept[1:]
		}
	}
	return len(b), nil
}

func (l *lineTail) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.kept...)
	if len(l.partial) > 0 {
		out = append(out, string(l.partial))
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
