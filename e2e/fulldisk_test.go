package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullDiskScript runs in a mount namespace of its own, with runs/ on a 1 MiB
// tmpfs: the train stage fills it, then prints 30000 lines into a log that
// cannot hold them, and magelab must record the run as failed with the
// reason, in the ledger (which still has room in its last page) and
// wherever the run is shown. It prints what the checks need, since the
// tmpfs goes with the namespace.
const fullDiskScript = `set -u
mount -t tmpfs -o size=1m tmpfs runs || exit 97
"$MAGELAB" train -exp=fill
echo "@@EXIT $?"
echo "@@LEDGER"; tail -n 1 runs/ledger.jsonl
echo "@@RUNS"; "$MAGELAB" runs -format=json
echo "@@SHOW"; "$MAGELAB" runs:show "$(ls runs | grep -v ledger | head -n 1)"
`

// TestFullDisk fills a real filesystem under a run (a tmpfs, in a user and
// mount namespace where the machine allows one; the runner tests put the
// same full disk at the code's seams everywhere): the ledger never says
// finished for a run whose run.json could not be written, and a stage log
// cut short says so.
func TestFullDisk(t *testing.T) {
	p := newProject(t)
	if out, err := exec.Command("unshare", "--user", "--map-root-user", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("no mount namespace here (unshare: %v: %s); the runner tests cover the full disk at the code's seams", err, out)
	}
	p.write("experiments/fill.yaml", "name: fill\nrequirements: [python/requirements.txt]\nstages:\n"+
		"  train: {cmd: \"dd if=/dev/zero of=$${MAGELAB_RUN_DIR}/fill bs=4k 2>/dev/null; seq 1 30000\"}\n")
	p.write("runs/.keep", "")
	p.env = []string{"MAGELAB=" + magelabBin, noGPU(t)}
	r := p.run("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", fullDiskScript)
	if r.code == 97 {
		t.Skipf("cannot mount a tmpfs in the namespace:\n%s", r.out)
	}
	part := func(name string) string {
		_, after, _ := strings.Cut(r.out, "@@"+name)
		before, _, _ := strings.Cut(after, "@@")
		return strings.TrimSpace(before)
	}
	mustContain(t, r.out, "@@EXIT 1", "its record could not be saved", "no space left on device",
		"warning: stage train: its log", "was cut short after")
	var last record.Event
	require.NoError(t, json.Unmarshal([]byte(part("LEDGER")), &last), "the ledger's last line\n%s", r.out)
	assert.Equal(t, record.EventRunFinished, last.Type, "the ledger's last line: %+v", last)
	assert.Equal(t, record.StatusFailed, last.Status, "the ledger's last line: %+v", last)
	assert.Contains(t, last.Error, "no space left on device", "the ledger's last line gives the reason")
	var listed []struct {
		Status record.Status `json:"status"`
		Error  string        `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(part("RUNS")), &listed), "runs -format=json\n%s", r.out)
	require.Len(t, listed, 1, "runs -format=json lists the one run")
	assert.Equal(t, record.StatusFailed, listed[0].Status)
	assert.NotEmpty(t, listed[0].Error, "runs -format=json gives the run's error")
	mustContain(t, part("SHOW"), "failed", "no space left on device")
}
