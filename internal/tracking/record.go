package tracking

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteRecord writes r to runs/<id>/run.json atomically: a reader sees the
// old record or the new one, never half of one.
func (l *Ledger) WriteRecord(r *Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	return WriteFileAtomic(filepath.Join(l.RunDir(r.ID), "run.json"), append(b, '\n'))
}

// ReadRecord reads runs/<id>/run.json.
func (l *Ledger) ReadRecord(id string) (*Run, error) {
	p := filepath.Join(l.RunDir(id), "run.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read run record: %w", err)
	}
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", p, err)
	}
	return &r, nil
}

// WriteFileAtomic writes data to a temporary file beside path and renames it
// over path, creating the parent directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
