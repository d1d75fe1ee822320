package slurm

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// TestSweepBatchScript checks the batch script of a sweep against
// testdata/golden/job.sh (-update rewrites it): the script docs/slurm.md shows.
func TestSweepBatchScript(t *testing.T) {
	lay := Layout{Root: "/shared/proj", ID: "3f2a9c1b7d4e"}
	s := &config.Slurm{Partition: "gpu", Account: "proj-42", Time: "04:00:00", GPUs: 1, CPUs: 8, Mem: "32G",
		Args: []string{"--exclusive"}, SignalLead: 90, StopSignal: syscall.SIGINT}
	b := sweepBatch(lay, &config.Experiment{Name: "digits-mlp"}, s, 9)
	recordtest.CheckGolden(t, "job.sh", []byte(b.text()))
}

func TestSbatchOptions(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		assert.Equal(t, []string{"--job-name=j", "--output=o", "--open-mode=append", "--requeue", "--signal=B:USR1@90", "--gres=gpu:1"},
			sbatchOptions(config.DefaultSlurm(), "j", "o"))
	})
	t.Run("NoWarningNoGPU", func(t *testing.T) {
		assert.Equal(t, []string{"--job-name=j", "--output=o", "--open-mode=append", "--requeue", "--qos=high", "--constraint=a100|h100", "--nodelist=n1"},
			sbatchOptions(&config.Slurm{QOS: "high", Constraint: "a100|h100", Args: []string{"--nodelist=n1"}}, "j", "o"))
	})
}

func TestArraySpec(t *testing.T) {
	tests := []struct {
		trials   []int
		parallel int
		want     string
	}{
		{[]int{0, 1, 2, 3, 4, 5}, 2, "0-5%2"},
		{[]int{0, 1, 2}, 0, "0-2"},
		{[]int{0, 1, 2}, 3, "0-2"}, // no throttle at or above the count
		{[]int{1}, 2, "1"},
		{[]int{1, 3, 4, 5, 9}, 2, "1,3-5,9%2"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, arraySpec(tt.trials, tt.parallel), "%v %%%d", tt.trials, tt.parallel)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"/a/b-c.d": "/a/b-c.d", "/my proj": "'/my proj'", "it's": `'it'\''s'`, "": "''"} {
		assert.Equal(t, want, quote(in), in)
	}
}

func TestCheckPartition(t *testing.T) {
	parts := []Partition{{Name: "debug", Default: true, Up: true, MaxGPUs: 2}, {Name: "cpu", Up: true}, {Name: "old", MaxGPUs: 4}}
	at := func(s *config.Slurm) *config.Slurm {
		s.Pos = map[string]config.Pos{"slurm": {File: "x.yaml", Line: 9, Col: 1}, "partition": {File: "x.yaml", Line: 10, Col: 14},
			"gpus_per_trial": {File: "x.yaml", Line: 11, Col: 19}}
		return s
	}
	tests := []struct {
		name string
		s    *config.Slurm
		want string // "" for no error
	}{
		{"DefaultPartition", at(&config.Slurm{GPUs: 2}), ""},
		{"CPUTrialsOnCPUPartition", at(&config.Slurm{Partition: "cpu"}), ""},
		{"UnknownPartition", at(&config.Slurm{Partition: "gpux", GPUs: 1}), `x.yaml:10:14: slurm.partition: "gpux" is not a partition of this cluster (sinfo lists debug, cpu, old)`},
		{"PartitionDown", at(&config.Slurm{Partition: "old", GPUs: 1}), "x.yaml:10:14: slurm.partition: partition old is down"},
		{"NoGPUsThere", at(&config.Slurm{Partition: "cpu", GPUs: 1}), "x.yaml:11:19: slurm.gpus_per_trial: 1, but no node of partition cpu has GPUs"},
		{"TooManyGPUs", at(&config.Slurm{GPUs: 3}), "x.yaml:11:19: slurm.gpus_per_trial: 3, but the largest node of partition debug has 2 GPU(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPartition(tt.s, parts)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.want)
		})
	}
	t.Run("NoDefault", func(t *testing.T) {
		assert.ErrorContains(t, checkPartition(at(&config.Slurm{}), parts[1:]), "x.yaml:9:1: slurm: the cluster has no default partition")
	})
}
