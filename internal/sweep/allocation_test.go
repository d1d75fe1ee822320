package sweep

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/magelab/magelab/internal/runner"
)

// TestVisibleDevicesWithoutNvidiaSMI checks that a node without nvidia-smi
// still gives a Slurm task the GPUs Slurm allotted (CUDA_VISIBLE_DEVICES as
// Slurm set it), where it used to give a CPU slot that hid them; outside
// an allocation there are none.
func TestVisibleDevicesWithoutNvidiaSMI(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no nvidia-smi
	env := map[string]string{"CUDA_VISIBLE_DEVICES": "1"}
	s := runner.Settings{Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	assert.Empty(t, visibleDevices(context.Background(), s), "outside Slurm")
	env["SLURM_JOB_ID"] = "4245"
	assert.Equal(t, []string{"1"}, visibleDevices(context.Background(), s), "inside a Slurm allocation")
}
