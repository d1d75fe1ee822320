package ledger

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/record"
)

// WriteRecord writes r to runs/<id>/run.json atomically: a reader sees the
// old record or the new one, never half of one.
func (l *Ledger) WriteRecord(r *record.Run) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run %s: %w", r.ID, err)
	}
	return durable.WriteFile(filepath.Join(l.RunDir(r.ID), "run.json"), append(b, '\n'))
}

// ReadRecord reads runs/<id>/run.json.
func (l *Ledger) ReadRecord(id string) (*record.Run, error) {
	p := filepath.Join(l.RunDir(id), "run.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read run record: %w", err)
	}
	var r record.Run
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", p, err)
	}
	return &r, nil
}
