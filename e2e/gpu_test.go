package e2e

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSMIScript answers like nvidia-smi on a four-GPU machine, from the
// captures in internal/gpu/testdata: the inventory query, --version, and a
// telemetry stream (-lms) that repeats the rows of all four GPUs until SIGINT.
const fakeSMIScript = `#!/bin/sh
data=%DATA%
case "$*" in
  *--version*) cat "$data/h200/version.txt"; exit 0 ;;
  *-lms*)
    echo $$ > "%DIR%/sampler.pid"
    trap 'exit 0' INT
    while :; do
      now=$(date '+%Y/%m/%d %H:%M:%S.000')
      while IFS=, read -r idx name uuid rest; do
        echo "$now, $idx,$uuid, 55, 2048, 150.00"
      done < "$data/four-gpu/query.csv"
      sleep 0.1
    done ;;
  *--query-gpu=*) cat "$data/four-gpu/query.csv"; exit 0 ;;
esac
echo "unexpected call: $*" >&2; exit 2
`

// TestGPUTelemetry trains on a (fake) four-GPU machine with two GPUs made
// visible: the run records those two, its gpu.csv holds only their rows, the
// summary is in run.json, and the sampler is gone afterwards.
func TestGPUTelemetry(t *testing.T) {
	p := newProject(t)
	bin := t.TempDir()
	script := strings.NewReplacer("%DATA%", filepath.Join(repoRoot, "internal/gpu/testdata"), "%DIR%", bin).Replace(fakeSMIScript)
	require.NoError(t, os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755))
	p.write("python/slowish/train.py", "import time\ntime.sleep(1.5)\nprint('accuracy=0.5')\n")
	p.write("experiments/gpu.yaml", "name: gpu\nrequirements: [python/requirements.txt]\nstages:\n  train: {cmd: \"python python/slowish/train.py\"}\n")
	p.env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "CUDA_VISIBLE_DEVICES=1,GPU-703a1b2c", "MAGELAB_GPU_INTERVAL=100ms"}
	p.mustMage("train", "-exp=gpu")
	run := p.onlyNewRun()

	require.NotNil(t, run.GPU, "gpu stamp: %+v", run.GPU)
	require.Len(t, run.GPU.Devices, 2, "gpu stamp: %+v", run.GPU)
	require.Equal(t, 1, run.GPU.Devices[0].Index, "gpu stamp: %+v", run.GPU)
	require.Equal(t, 2, run.GPU.Devices[1].Index, "gpu stamp: %+v", run.GPU)
	assert.Equal(t, "580.159.04", run.GPU.Driver, "driver %q cuda %q", run.GPU.Driver, run.GPU.CUDA)
	assert.Equal(t, "13.0", run.GPU.CUDA, "driver %q cuda %q", run.GPU.Driver, run.GPU.CUDA)
	tel := run.GPU.Telemetry
	require.NotNil(t, tel, "telemetry summary: %+v", tel)
	require.GreaterOrEqual(t, tel.Samples, 4, "telemetry summary: %+v", tel)
	require.Equal(t, 55.0, tel.MeanUtilPct, "telemetry summary: %+v", tel)
	require.Equal(t, 2048.0, tel.PeakMemoryMiB, "telemetry summary: %+v", tel)
	require.Equal(t, 150.0, tel.MeanPowerW, "telemetry summary: %+v", tel)
	require.Greater(t, tel.EnergyWh, 0.0, "telemetry summary: %+v", tel)
	rows, err := csv.NewReader(strings.NewReader(p.read("runs/" + run.ID + "/gpu.csv"))).ReadAll()
	require.NoError(t, err, "gpu.csv: %v %d rows", err, len(rows))
	require.GreaterOrEqual(t, len(rows), 5, "gpu.csv: %v %d rows", err, len(rows))
	for _, row := range rows[1:] {
		uuid := strings.TrimSpace(row[2])
		require.Contains(t, []string{run.GPU.Devices[0].UUID, run.GPU.Devices[1].UUID}, uuid, "gpu.csv has a row of another GPU: %v", row)
	}
	mustContain(t, p.read("runs/ledger.jsonl"), `"gpu":"2x NVIDIA H200"`)
	b, err := os.ReadFile(filepath.Join(bin, "sampler.pid"))
	require.NoError(t, err, "the sampler never started: %v", err)
	pid := strings.TrimSpace(string(b))
	if out, _ := exec.Command("ps", "-o", "pid=", "-p", pid).Output(); len(bytes.TrimSpace(out)) > 0 {
		time.Sleep(time.Second)
		if out, _ := exec.Command("ps", "-o", "stat=", "-p", pid).Output(); len(bytes.TrimSpace(out)) > 0 {
			require.Contains(t, string(out), "Z", "the telemetry sampler (pid %s) outlived magelab", pid)
		}
	}
}
