package report

import (
	"fmt"
	"strings"

	"github.com/magelab/magelab/internal/ledger"
)

// FormatImport renders what an import did, one line per fact, for the
// terminal and CI logs.
func FormatImport(r ledger.ImportReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "added %d run(s), skipped %d already here, %d conflict(s), %d rejected\n",
		len(r.Added), len(r.Skipped), len(r.Conflicts), len(r.Rejected))
	if r.SweepEvents > 0 {
		fmt.Fprintf(&b, "added %d sweep event(s)\n", r.SweepEvents)
	}
	for _, id := range r.Added {
		fmt.Fprintf(&b, "  added    %s\n", id)
	}
	for _, c := range r.Conflicts {
		fmt.Fprintf(&b, "  conflict %s: %s\n", c.ID, c.Reason)
	}
	for _, why := range r.Rejected {
		fmt.Fprintf(&b, "  rejected %s\n", why)
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "  warning  %s\n", w)
	}
	return PrintableText(b.String())
}
