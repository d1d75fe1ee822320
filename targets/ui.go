package targets

import (
	"context"
	"os"

	"github.com/magelab/magelab/internal/ui"
)

// UI serves the web UI over this project's runs at http://127.0.0.1:8080 (runs, run, compare, sweeps, live; read-only): -port=N, -open opens a browser, -host=ADDR (not loopback: a token is printed and required).
func UI(ctx context.Context, port *int, host *string, open *bool) error {
	l, err := openLedger()
	if err != nil {
		return err
	}
	o := ui.ServeOptions{Host: deref(host), Port: 8080, Open: open != nil && *open}
	if port != nil {
		o.Port = *port
	}
	return ui.Serve(ctx, l, o, os.Stdout)
}
