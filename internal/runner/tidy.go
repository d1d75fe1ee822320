package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
)

// What a magelab killed with SIGKILL leaves is removed by the next run (or
// by clean) once its owner is provably gone:
//
//   - a run directory made before its run.json and run.started: a run
//     being started is announced in runs/.pending/<id>.json with its owner
//     (host, pid, start time) until its run.started is in the ledger; an
//     announcement whose owner is gone on this host is a run that never
//     started, and its directory goes with it;
//   - a stage output half-made in .magelab/cache/<stage>/<key>.tmp-*: it is
//     written under the key's lock, so a tmp directory whose lock nobody
//     holds is nobody's.
//
// clean also removes run directories that neither the ledger nor an
// announcement knows and that hold no run.json, once an hour old: what
// magelab versions before the announcements left.

// pendingDir holds the announcements of runs being started.
func (p *Project) pendingDir() string { return filepath.Join(p.Ledger.Dir, ".pending") }

// announce records that this process is starting run id. Another process
// may remove the directory, emptied, in between: that is tried again.
func (p *Project) announce(id string) error {
	b, _ := json.Marshal(stamp.ThisProcess())
	var err error
	for range 3 {
		if err = durable.WriteFile(filepath.Join(p.pendingDir(), id+".json"), b); !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

// announced removes run id's announcement, and the directory once no run
// is being started: its run.started is in the ledger, or it was never to
// start.
func (p *Project) announced(id string) {
	os.Remove(filepath.Join(p.pendingDir(), id+".json"))
	os.Remove(p.pendingDir()) // fails while another run is being started
}

// tidy runs Tidy once per project and says what it removed.
func (p *Project) tidy() {
	p.tidyOnce.Do(func() {
		for _, line := range p.Tidy() {
			fmt.Fprintln(p.Out, "cleanup: "+line)
		}
	})
}

// Tidy removes what killed runs left behind whose owner is provably gone,
// and returns a line for each thing removed.
func (p *Project) Tidy() []string {
	return append(p.tidyPending(), p.tidyCache()...)
}

// tidyPending removes the run directories of announcements whose owner is
// gone.
func (p *Project) tidyPending() []string {
	entries, _ := os.ReadDir(p.pendingDir())
	var removed []string
	host := proc.Hostname()
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		path := filepath.Join(p.pendingDir(), e.Name())
		var owner record.Process
		b, err := os.ReadFile(path)
		if !ok || err != nil || json.Unmarshal(b, &owner) != nil || owner.Host != host || proc.Alive(owner.PID, owner.PIDStart) {
			continue
		}
		dir := p.Ledger.RunDir(id)
		if _, err := os.Stat(filepath.Join(dir, "run.json")); err == nil && p.ledgerKnows(id) {
			os.Remove(path) // started after all: only the announcement was left
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			continue
		}
		p.announced(id)
		removed = append(removed, fmt.Sprintf("removed %s: run %s was never recorded (magelab pid %d was killed while starting it)", p.rel(dir), id, owner.PID))
	}
	return removed
}

// ledgerKnows reports whether the ledger has events of run id.
func (p *Project) ledgerKnows(id string) bool {
	events, _, err := p.Ledger.Events()
	if err != nil {
		return true // cannot tell: keep
	}
	for _, ev := range events {
		if ev.Run == id {
			return true
		}
	}
	return false
}

// tidyCache removes the half-made stage outputs whose key nobody is
// computing.
func (p *Project) tidyCache() []string {
	tmps, _ := filepath.Glob(filepath.Join(p.Cache.Dir, "*", "*.tmp-*"))
	var removed []string
	for _, tmp := range tmps {
		key, _, _ := strings.Cut(filepath.Base(tmp), ".tmp-")
		unlock, ok := p.Cache.tryLocks(filepath.Dir(tmp), key)
		if !ok {
			continue // being computed now
		}
		err := os.RemoveAll(tmp)
		unlock()
		if err == nil {
			removed = append(removed, fmt.Sprintf("removed %s: a stage output left half-made by a killed magelab", p.rel(tmp)))
		}
	}
	return removed
}

// tryLocks takes, without waiting, the locks in dir of every key that
// starts with prefix (a tmp directory's name holds its key, or, from
// earlier versions, the key's first 12 digits). ok is false when one is
// held.
func (c StageCache) tryLocks(dir, prefix string) (unlock func(), ok bool) {
	locks, _ := filepath.Glob(filepath.Join(dir, prefix+"*.lock"))
	var held []*os.File
	unlock = func() {
		for _, f := range held {
			f.Close()
		}
	}
	for _, l := range locks {
		f, err := os.Open(l)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			unlock()
			return nil, false
		}
		held = append(held, f)
	}
	return unlock, true
}

// orphanAge is how old a run directory unknown to the ledger, without
// run.json and without an announcement must be for clean to remove it.
const orphanAge = time.Hour

// tidyOrphans removes, for clean, run directories that nothing knows.
func (p *Project) tidyOrphans() []string {
	entries, err := os.ReadDir(p.Ledger.Dir)
	if err != nil {
		return nil
	}
	known := map[string]bool{}
	events, _, err := p.Ledger.Events()
	if err != nil {
		return nil
	}
	for _, ev := range events {
		known[ev.Run] = true
	}
	var removed []string
	for _, e := range entries {
		id := e.Name()
		dir := p.Ledger.RunDir(id)
		if !e.IsDir() || strings.HasPrefix(id, ".") || known[id] {
			continue
		}
		if _, err := os.Stat(filepath.Join(p.pendingDir(), id+".json")); err == nil {
			continue // being started, or tidyPending's to judge
		}
		st, err := os.Stat(filepath.Join(dir, "run.json"))
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			continue // a record: an import cut short, completed by importing again
		}
		if st, err = os.Stat(dir); err != nil || time.Since(st.ModTime()) < orphanAge {
			continue
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, fmt.Sprintf("removed %s: a run directory without run.json that the ledger does not know (left by a killed magelab)", p.rel(dir)))
		}
	}
	return removed
}

// rel names path relative to the project root.
func (p *Project) rel(path string) string {
	if r, err := filepath.Rel(p.Root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
