package gpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAllocated(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		want   []string
		inside bool
	}{
		{"OutsideSlurm", map[string]string{"CUDA_VISIBLE_DEVICES": "0,1"}, nil, false},
		{"SlurmSetsCUDAVisible", map[string]string{"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "1", "SLURM_JOB_GPUS": "3"}, []string{"1"}, true},
		{"StepGPUsWithoutCUDAVisible", map[string]string{"SLURM_JOB_ID": "42", "SLURM_STEP_GPUS": "2,3", "SLURM_JOB_GPUS": "0,1,2,3"}, []string{"2", "3"}, true},
		{"JobGPUs", map[string]string{"SLURM_JOB_ID": "42", "SLURM_JOB_GPUS": "0,1"}, []string{"0", "1"}, true},
		{"NoGPUsAllotted", map[string]string{"SLURM_JOB_ID": "42"}, nil, true},
		{"EmptyCUDAVisibleHidesAll", map[string]string{"SLURM_JOB_ID": "42", "CUDA_VISIBLE_DEVICES": "", "SLURM_JOB_GPUS": "0"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, inside := Allocated(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.inside, inside)
		})
	}
}
