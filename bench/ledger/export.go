package main

import (
	"bufio"
	"encoding/json"
	"os"
)

// runsWriter writes the synthetic runs as MLflow's loader reads them.
type runsWriter struct {
	f   *os.File
	w   *bufio.Writer
	err error
}

func newRunsWriter(path string) (*runsWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &runsWriter{f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (rw *runsWriter) add(r *synthRun) {
	b, err := json.Marshal(map[string]any{
		"id": r.ID, "experiment": r.Experiment, "started": r.Started.UnixMilli(), "status": r.Status,
		"duration_s": r.Duration, "params": r.Params, "metrics": r.Metrics,
	})
	if err == nil {
		_, err = rw.w.Write(append(b, '\n'))
	}
	if err != nil && rw.err == nil {
		rw.err = err
	}
}

func (rw *runsWriter) close() error {
	if err := rw.w.Flush(); err != nil && rw.err == nil {
		rw.err = err
	}
	if err := rw.f.Close(); err != nil && rw.err == nil {
		rw.err = err
	}
	return rw.err
}
