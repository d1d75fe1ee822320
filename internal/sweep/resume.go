package sweep

import (
	"os"
	"path/filepath"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// resumeDirs maps each trial (by trialKey) whose latest attempt in sweep
// id did not finish — preempted, interrupted, failed, crashed — and left
// an output directory to that directory: what a script that checkpoints
// may resume from (${resume_dir}, MAGELAB_RESUME_DIR) when the trial runs
// again.
func resumeDirs(l *ledger.Ledger, id string, s *Spec) map[string]string {
	prev, err := previous(l, id, s)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for k, r := range prev {
		if r.Status == record.StatusFinished || r.Status == record.StatusRunning {
			continue
		}
		dir := filepath.Join(l.RunDir(r.ID), "out")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			out[k] = dir
		}
	}
	return out
}
