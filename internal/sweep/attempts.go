package sweep

import (
	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// LatestAttempts is the latest attempt at each of trials among the runs of
// sweep id in l, in trial order (nil where a trial has none): what a
// backend that runs trials elsewhere reads to tell finished trials from
// failed and missing ones.
func LatestAttempts(l *ledger.Ledger, id string, s *Spec, trials []Trial) ([]*record.Summary, error) {
	prev, err := previous(l, id, s)
	if err != nil {
		return nil, err
	}
	out := make([]*record.Summary, len(trials))
	for i, t := range trials {
		if r, ok := prev[trialKey(t.Values)]; ok {
			out[i] = &r
		}
	}
	return out, nil
}
