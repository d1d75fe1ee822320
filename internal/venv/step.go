package venv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/magelab/magelab/internal/proc"
)

// runStep runs one setup command and turns a failure into an error that
// says what failed.
func runStep(ctx context.Context, c proc.Command, what string) error {
	res, err := proc.Run(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.Interrupted {
		return &proc.InterruptedError{What: what}
	}
	if !res.OK() {
		return fmt.Errorf("%s: %s exited with status %d (see its output above); the venv is not marked ready, so the next run retries", what, filepath.Base(c.Path), res.ExitCode)
	}
	return nil
}

func pythonJSON(ctx context.Context, python, code string) (map[string]any, error) {
	var buf bytes.Buffer
	if err := runStep(ctx, proc.Command{Path: python, Args: []string{"-c", code}, Output: &buf}, python); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &out); err != nil {
		return nil, fmt.Errorf("unexpected output %q: %w", buf.String(), err)
	}
	return out, nil
}

func stringsOf(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// heartbeat prints msg with the elapsed time every interval until stopped,
// so a long silent install does not look hung.
func heartbeat(out io.Writer, msg string, every time.Duration) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(out, "%s (%s)\n", msg, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}
