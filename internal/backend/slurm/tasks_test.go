package slurm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

// brief is the part of a task the tests compare.
type brief struct {
	Name, Job, State, Reason string
	Restarts                 int
}

func briefs(ts []Task) []brief {
	out := make([]brief, len(ts))
	for i, t := range ts {
		out[i] = brief{t.Name(), t.Job, t.State, t.Reason, t.Restarts}
	}
	return out
}

// The scontrol captures come from `scontrol show job --oneliner 56` on the
// test cluster: a held 4-task array with %2, then running, then done.
func TestParseScontrol(t *testing.T) {
	tests := []struct {
		file string
		want []brief
	}{
		{"scontrol-pending.txt", []brief{{"56_0", "", "PENDING", "JobHeldUser", 0}, {"56_1", "", "PENDING", "JobHeldUser", 0},
			{"56_2", "", "PENDING", "JobHeldUser", 0}, {"56_3", "", "PENDING", "JobHeldUser", 0}}},
		{"scontrol-running.txt", []brief{{"56_2", "", "PENDING", "JobArrayTaskLimit", 0}, {"56_3", "", "PENDING", "JobArrayTaskLimit", 0},
			{"56_1", "58", "RUNNING", "", 0}, {"56_0", "57", "RUNNING", "", 0}}},
		{"scontrol-done.txt", []brief{{"56_3", "56", "COMPLETED", "", 0}, {"56_2", "59", "COMPLETED", "", 0},
			{"56_1", "58", "COMPLETED", "", 0}, {"56_0", "57", "COMPLETED", "", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := parseScontrol(readTestdata(t, tt.file))
			assert.Equal(t, tt.want, briefs(got))
			for _, task := range got {
				assert.Equal(t, "debug", task.Partition)
			}
		})
	}
	t.Run("PlainJob", func(t *testing.T) {
		got := parseScontrol("JobId=77 JobName=x JobState=TIMEOUT Reason=TimeLimit Restarts=2 NodeList=vm Partition=gpu StartTime=2026-03-14T15:09:26 EndTime=Unknown\n")
		require.Len(t, got, 1)
		assert.Equal(t, brief{"77", "77", "TIMEOUT", "TimeLimit", 2}, briefs(got)[0])
		assert.True(t, got[0].Killed())
		assert.False(t, got[0].Active())
		assert.Equal(t, "TIMEOUT (TimeLimit)", got[0].Verdict())
		assert.False(t, got[0].Start.IsZero())
		assert.True(t, got[0].End.IsZero(), "Unknown is no time")
	})
}

func TestParseSacct(t *testing.T) {
	got := parseSacct(readTestdata(t, "sacct.txt"))
	assert.Equal(t, []brief{
		{"4242_0", "4243", "COMPLETED", "", 0},
		{"4242_1", "4244", "TIMEOUT", "TimeLimit", 0},
		{"4242_2", "4245", "COMPLETED", "", 1}, // requeued once: its last attempt wins
		{"4242_3", "4242", "CANCELLED", "", 0},
		{"4242_4", "", "PENDING", "JobArrayTaskLimit", 0},
		{"4242_5", "", "PENDING", "JobArrayTaskLimit", 0},
		{"4242_6", "", "PENDING", "JobArrayTaskLimit", 0},
		{"4300", "4300", "OUT_OF_MEMORY", "OutOfMemory", 0},
	}, briefs(got))
	assert.Equal(t, "gpu-node-9", got[2].Node)
}

func TestSacctArgs(t *testing.T) {
	assert.Equal(t, []string{"--noheader", "--parsable2", "--allocations", "--duplicates",
		"--format=JobID,JobIDRaw,State,ExitCode,Reason,Start,End,NodeList,Partition", "--jobs=1,2"}, sacctArgs([]string{"1", "2"}))
}

func TestExpandIndices(t *testing.T) {
	for in, want := range map[string][]int{"3": {3}, "2-5": {2, 3, 4, 5}, "1,4-6": {1, 4, 5, 6}, "0-9:3": {0, 3, 6, 9},
		"0-5%2": {0, 1, 2, 3, 4, 5}, "x": nil, "": nil} {
		assert.Equal(t, want, expandIndices(in), in)
	}
}

func TestTaskStates(t *testing.T) {
	for _, s := range []string{"PENDING", "RUNNING", "REQUEUED", "COMPLETING", "SUSPENDED"} {
		assert.True(t, Task{State: s}.Active(), s)
	}
	for _, s := range []string{"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", ""} {
		assert.False(t, Task{State: s}.Active(), s)
	}
	for _, s := range []string{"TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"} {
		assert.True(t, Task{State: s}.Killed(), s)
	}
	for _, s := range []string{"COMPLETED", "FAILED", "PREEMPTED", "RUNNING"} {
		assert.False(t, Task{State: s}.Killed(), s)
	}
}

func TestParseSinfo(t *testing.T) {
	got := parseSinfo("debug*|up|gpu:2\ncpu|up|(null)\ngpu|up|gpu:a100:4(S:0-1)\ngpu|down|gpu:h100:8,mps:100\n")
	assert.Equal(t, []Partition{{Name: "debug", Default: true, Up: true, MaxGPUs: 2}, {Name: "cpu", Up: true},
		{Name: "gpu", Up: true, MaxGPUs: 8}}, got)
}

func TestGresGPUs(t *testing.T) {
	for in, want := range map[string]int{"gpu:2": 2, "gpu:a100:4(S:0-1)": 4, "gpu:a100:2,gpu:v100:2": 4, "(null)": 0, "mps:100": 0, "gpu:a100": 1} {
		assert.Equal(t, want, gresGPUs(in), in)
	}
}
