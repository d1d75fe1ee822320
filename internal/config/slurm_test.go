package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slurmOf loads an experiment file ending in extra (a backend: line and a
// slurm: block) from a temporary project.
func slurmOf(tb testing.TB, extra string) (*Experiment, error) {
	tb.Helper()
	dir := tb.TempDir()
	for rel, content := range map[string]string{
		"python/train.py":    "print('ok')\n",
		"experiments/x.yaml": "name: x\nstages:\n  train: python/train.py\ntrain: {lr: 0.01}\n" + extra,
	} {
		require.NoError(tb, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		require.NoError(tb, os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644))
	}
	return Load(dir, "x")
}

func TestLoadSlurm(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		e, err := slurmOf(t, "slurm: {}\n")
		require.NoError(t, err)
		require.NotNil(t, e.Slurm)
		assert.Equal(t, Pos{File: "experiments/x.yaml", Line: 5, Col: 8}, e.Slurm.At("partition"))
		e.Slurm.Pos = nil
		assert.Equal(t, Slurm{GPUs: 1, SignalLead: 90, StopSignal: syscall.SIGINT}, *e.Slurm)
		assert.Empty(t, e.Backend)
	})
	t.Run("Absent", func(t *testing.T) {
		e, err := slurmOf(t, "")
		require.NoError(t, err)
		assert.Nil(t, e.Slurm)
	})
	t.Run("Full", func(t *testing.T) {
		e, err := slurmOf(t, "backend: slurm\nslurm:\n  partition: gpu\n  account: proj-42\n  qos: high\n  time: 1-12:00\n"+
			"  gpus_per_trial: 2\n  cpus_per_task: 8\n  mem: 32G\n  constraint: a100|h100\n"+
			"  sbatch_args: [--exclusive, --nodelist=gpu7]\n  signal_lead: 300\n  stop_signal: USR1\n")
		require.NoError(t, err)
		assert.Equal(t, "slurm", e.Backend)
		assert.Equal(t, Pos{File: "experiments/x.yaml", Line: 7, Col: 14}, e.Slurm.At("partition"))
		e.Slurm.Pos = nil
		assert.Equal(t, Slurm{Partition: "gpu", Account: "proj-42", QOS: "high", Time: "1-12:00", TimeSec: 36 * 3600,
			GPUs: 2, CPUs: 8, Mem: "32G", Constraint: "a100|h100", Args: []string{"--exclusive", "--nodelist=gpu7"},
			SignalLead: 300, StopSignal: syscall.SIGUSR1}, *e.Slurm)
	})
	bad := []struct{ name, extra, want string }{
		{"UnknownBackend", "backend: slrum\n", `x.yaml:5:10: backend: "slrum" is not one of local, slurm (did you mean "slurm"?)`},
		{"UnknownKey", "slurm:\n  partiton: gpu\n", `x.yaml:6:3: slurm: unknown key "partiton" (did you mean "partition"?)`},
		{"BadTime", "slurm:\n  time: 2h\n", `x.yaml:6:9: slurm.time: "2h" is not a time limit as sbatch --time takes it`},
		{"ZeroTime", "slurm:\n  time: 0\n", `slurm.time: "0" is no time at all`},
		{"NegativeGPUs", "slurm:\n  gpus_per_trial: -1\n", `x.yaml:6:19: slurm.gpus_per_trial: expected an integer ≥ 0, found -1`},
		{"GPUsNotANumber", "slurm:\n  gpus_per_trial: two\n", `slurm.gpus_per_trial: expected an integer ≥ 0, found string "two"`},
		{"ZeroCPUs", "slurm:\n  cpus_per_task: 0\n", `slurm.cpus_per_task: expected an integer ≥ 1, found 0`},
		{"BadMem", "slurm:\n  mem: 16GB\n", `slurm.mem: "16GB" is not a size as sbatch --mem takes it`},
		{"BadPartition", "slurm:\n  partition: gpu; rm -rf\n", `slurm.partition: "gpu; rm -rf" is not a Slurm name`},
		{"BadSignal", "slurm:\n  stop_signal: SIGKIL\n", `slurm.stop_signal: "SIGKIL" is not one of SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2`},
		{"ArgNotAnOption", "slurm:\n  sbatch_args: [exclusive]\n", `x.yaml:6:17: slurm.sbatch_args: expected a list of sbatch options`},
		{"LeadOverTime", "slurm:\n  time: 1\n  signal_lead: 90\n", `x.yaml:7:16: slurm.signal_lead: 90 s is not less than time: 1 (60 s)`},
		{"NotAMapping", "slurm: gpu\n", `x.yaml:5:8: slurm: expected a mapping`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := slurmOf(t, tt.extra)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestParseSlurmTime(t *testing.T) {
	good := map[string]int{"90": 5400, "1:30": 90, "01:30:00": 5400, "2-0": 2 * 86400, "1-12": 36 * 3600,
		"1-00:30": 86400 + 1800, "1-00:00:10": 86410, "0:10": 10}
	for in, want := range good {
		got, err := ParseSlurmTime(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "x", "1:2:3:4", "-1", "1-", "1:-2", "1h", "0", "0:00"} {
		_, err := ParseSlurmTime(in)
		assert.Error(t, err, "%q", in)
	}
}
