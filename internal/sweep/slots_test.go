package sweep

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSlots(t *testing.T) {
	four := []string{"0", "1", "2", "3"}
	tests := []struct {
		name            string
		spec            Spec
		devices         []string
		cores, parallel int
		want            string // slot names, ";"-joined
		threads         int
		err             string
	}{
		{"OneTrialPerGPU", Spec{}, four, 16, 0, "gpu 0;gpu 1;gpu 2;gpu 3", 4, ""},
		{"TwoTrialsPerGPU", Spec{TrialsPerGPU: 2}, four, 16, 0, "gpu 0;gpu 1;gpu 2;gpu 3;gpu 0;gpu 1;gpu 2;gpu 3", 2, ""},
		{"TwoGPUsPerTrial", Spec{GPUsPerTrial: 2}, four, 16, 0, "gpu 0,1;gpu 2,3", 8, ""},
		{"OddGPULeftIdle", Spec{GPUsPerTrial: 2}, []string{"0", "1", "2"}, 16, 0, "gpu 0,1", 16, ""},
		{"ParallelCapSpreads", Spec{TrialsPerGPU: 2}, four, 16, 3, "gpu 0;gpu 1;gpu 2", 5, ""},
		{"SpecParallel", Spec{Parallel: 2}, four, 16, 0, "gpu 0;gpu 1", 8, ""},
		{"FlagBeatsSpec", Spec{Parallel: 2}, four, 16, 1, "gpu 0", 16, ""},
		{"MoreThanGPUs", Spec{}, four, 16, 5, "", 0, "parallel 5: the 4 visible GPU(s) give 4 slot(s)"},
		{"TooFewGPUs", Spec{GPUsPerTrial: 3}, []string{"0", "1"}, 16, 0, "", 0, "gpus_per_trial: 3, but 2 GPU(s) are visible (0,1)"},
		{"CPUAuto", Spec{ThreadsPerTrial: 1}, nil, 8, 0, "cpu 0;cpu 1;cpu 2;cpu 3;cpu 4;cpu 5;cpu 6;cpu 7", 1, ""},
		{"CPUThreads", Spec{ThreadsPerTrial: 3}, nil, 8, 0, "cpu 0;cpu 1", 3, ""},
		{"CPUMoreThreadsThanCores", Spec{ThreadsPerTrial: 4}, nil, 2, 0, "cpu 0", 4, ""},
		{"CPUParallel", Spec{ThreadsPerTrial: 2}, nil, 2, 3, "cpu 0;cpu 1;cpu 2", 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			s.GPUsPerTrial, s.TrialsPerGPU = max(1, s.GPUsPerTrial), max(1, s.TrialsPerGPU)
			s.ThreadsPerTrial = max(1, s.ThreadsPerTrial)
			slots, err := Slots(&s, tc.devices, tc.cores, tc.parallel)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, sl := range slots {
				names = append(names, sl.Name())
				if sl.Threads != tc.threads {
					t.Errorf("slot %d: %d threads, want %d", i, sl.Threads, tc.threads)
				}
				if len(sl.Devices) == 0 && sl.Name() != fmt.Sprintf("cpu %d", i) {
					t.Errorf("slot %d is named %q", i, sl.Name())
				}
			}
			if got := strings.Join(names, ";"); got != tc.want {
				t.Fatalf("slots %s\nwant  %s", got, tc.want)
			}
		})
	}
}

func TestSlotEnv(t *testing.T) {
	env := Slot{Devices: []string{"2", "3"}, Threads: 4}.Env()
	for _, want := range []string{"OMP_NUM_THREADS=4", "MKL_NUM_THREADS=4", "OPENBLAS_NUM_THREADS=4", "MAGELAB_THREADS=4"} {
		if !slices.Contains(env, want) {
			t.Errorf("env %v lacks %s", env, want)
		}
	}
}
