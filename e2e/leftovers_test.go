package e2e

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKilledStageLeftoversRemoved kills magelab with SIGKILL while a data
// stage writes its output into the stage cache: the half-made output is
// left (nothing of magelab runs after SIGKILL), and the next run removes it
// and says so.
func TestKilledStageLeftoversRemoved(t *testing.T) {
	p := newProject(t)
	p.write("python/left/prep.py", `import argparse, os, time
ap = argparse.ArgumentParser(); ap.add_argument("--params"); ap.add_argument("--out")
a = ap.parse_args()
open(os.path.join(a.out, "big.bin"), "wb").write(b"x" * 1000000)
print("prepared", flush=True)
if os.environ.get("STAGE_HANG"):
    time.sleep(300)
`)
	p.write("experiments/left.yaml", "name: left\nrequirements: [python/requirements.txt]\nstages:\n  setup-data: python/left/prep.py\n")
	p.env = []string{"STAGE_HANG=1"}
	cmd := p.command(magelabBin, "setupData", "-exp=left")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	pattern := filepath.Join(p.dir, ".magelab", "cache", "setup-data", "*.tmp-*", "out", "big.bin")
	var tmps []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && len(tmps) == 0; time.Sleep(50 * time.Millisecond) {
		tmps, _ = filepath.Glob(pattern)
	}
	if len(tmps) == 0 {
		cmd.Process.Kill()
		require.FailNow(t, "the stage never wrote its output", out.String())
	}
	cmd.Process.Kill()
	cmd.Wait()
	p.env = nil
	r := p.mustMage("setupData", "-exp=left")
	mustContain(t, r.out, "cleanup: removed .magelab/cache/setup-data/", ".tmp-", "a stage output left half-made by a killed magelab")
	left, _ := filepath.Glob(filepath.Join(p.dir, ".magelab", "cache", "setup-data", "*.tmp-*"))
	assert.Empty(t, left, "half-made outputs left")
	assert.NoDirExists(t, filepath.Dir(filepath.Dir(tmps[0])))
}
