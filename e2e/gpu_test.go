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
	if err := os.WriteFile(filepath.Join(bin, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p.write("python/slowish/train.py", "import time\ntime.sleep(1.5)\nprint('accuracy=0.5')\n")
	p.write("experiments/gpu.yaml", "name: gpu\nrequirements: [python/requirements.txt]\nstages:\n  train: {cmd: \"python python/slowish/train.py\"}\n")
	p.env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "CUDA_VISIBLE_DEVICES=1,GPU-703a1b2c", "MAGELAB_GPU_INTERVAL=100ms"}
	p.mustMage("train", "-exp=gpu")
	run := p.onlyNewRun()

	if run.GPU == nil || len(run.GPU.Devices) != 2 || run.GPU.Devices[0].Index != 1 || run.GPU.Devices[1].Index != 2 {
		t.Fatalf("gpu stamp: %+v", run.GPU)
	}
	if run.GPU.Driver != "580.159.04" || run.GPU.CUDA != "13.0" {
		t.Errorf("driver %q cuda %q", run.GPU.Driver, run.GPU.CUDA)
	}
	tel := run.GPU.Telemetry
	if tel == nil || tel.Samples < 4 || tel.MeanUtilPct != 55 || tel.PeakMemoryMiB != 2048 || tel.MeanPowerW != 150 || tel.EnergyWh <= 0 {
		t.Fatalf("telemetry summary: %+v", tel)
	}
	rows, err := csv.NewReader(strings.NewReader(p.read("runs/" + run.ID + "/gpu.csv"))).ReadAll()
	if err != nil || len(rows) < 5 {
		t.Fatalf("gpu.csv: %v %d rows", err, len(rows))
	}
	for _, row := range rows[1:] {
		if uuid := strings.TrimSpace(row[2]); uuid != run.GPU.Devices[0].UUID && uuid != run.GPU.Devices[1].UUID {
			t.Fatalf("gpu.csv has a row of another GPU: %v", row)
		}
	}
	mustContain(t, p.read("runs/ledger.jsonl"), `"gpu":"2x NVIDIA H200"`)
	b, err := os.ReadFile(filepath.Join(bin, "sampler.pid"))
	if err != nil {
		t.Fatalf("the sampler never started: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	if out, _ := exec.Command("ps", "-o", "pid=", "-p", pid).Output(); len(bytes.TrimSpace(out)) > 0 {
		time.Sleep(time.Second)
		if out, _ := exec.Command("ps", "-o", "stat=", "-p", pid).Output(); len(bytes.TrimSpace(out)) > 0 && !bytes.Contains(out, []byte("Z")) {
			t.Fatalf("the telemetry sampler (pid %s) outlived magelab", pid)
		}
	}
}
