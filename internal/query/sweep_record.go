package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// SweepStarted finds the newest sweep.started event of sweep id, reading
// the ledger backwards and decoding only sweep events. ok is false when the
// ledger has none.
func SweepStarted(l *ledger.Ledger, id string) (ev record.Event, ok bool, err error) {
	f, err := os.Open(l.Path())
	if errors.Is(err, os.ErrNotExist) {
		return ev, false, nil
	}
	if err != nil {
		return ev, false, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	err = readBackwards(f, func(b []byte, _ int64) bool {
		run, typ, peeked := peekRun(b)
		if !peeked || len(run) != 0 || string(typ) != record.EventSweepStarted {
			return true
		}
		var e record.Event
		if json.Unmarshal(b, &e) == nil && e.SweepID == id {
			ev, ok = e, true
			return false
		}
		return true
	})
	return ev, ok, err
}

// Sweep is one sweep of the ledger: its newest sweep.started and, when it
// came, the sweep.finished after it.
type Sweep struct {
	Started  record.Event
	Finished *record.Event
}

// Sweeps lists the ledger's sweeps, newest first, reading it backwards and
// decoding only sweep events.
func Sweeps(l *ledger.Ledger) ([]Sweep, error) {
	f, err := os.Open(l.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	var out []Sweep
	seen := map[string]bool{}
	finished := map[string]*record.Event{}
	err = readBackwards(f, func(b []byte, _ int64) bool {
		run, typ, peeked := peekRun(b)
		if !peeked || len(run) != 0 || (string(typ) != record.EventSweepStarted && string(typ) != record.EventSweepFinished) {
			return true
		}
		var e record.Event
		if json.Unmarshal(b, &e) != nil || e.SweepID == "" || seen[e.SweepID] {
			return true
		}
		if e.Type == record.EventSweepFinished {
			if finished[e.SweepID] == nil {
				finished[e.SweepID] = &e
			}
			return true
		}
		seen[e.SweepID] = true
		out = append(out, Sweep{Started: e, Finished: finished[e.SweepID]})
		return true
	})
	return out, err
}

// SweepEvents returns every event of sweep id (its sweep.started and
// sweep.finished, one pair per attempt), oldest first, reading the ledger
// backwards and decoding only sweep events.
func SweepEvents(l *ledger.Ledger, id string) ([]record.Event, error) {
	f, err := os.Open(l.Path())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	defer f.Close()
	var events []record.Event
	err = readBackwards(f, func(b []byte, _ int64) bool {
		run, _, peeked := peekRun(b)
		if !peeked || len(run) != 0 {
			return true
		}
		var e record.Event
		if json.Unmarshal(b, &e) == nil && e.IsSweep() && e.SweepID == id {
			events = append(events, e)
		}
		return true
	})
	slices.Reverse(events)
	return events, err
}
