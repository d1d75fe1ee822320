package gpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckCommand(t *testing.T) {
	tests := []struct {
		name string
		base []string
		env  []string
	}{
		{"Plain", []string{"HOME=/home/u", "PATH=/usr/bin:/bin"}, []string{
			"HOME=/home/u", "PATH=/p/.venv/bin:/usr/bin:/bin", "PYTHONPATH=/p/python",
			"CUDA_DEVICE_ORDER=PCI_BUS_ID", "TF_CPP_MIN_LOG_LEVEL=2",
			"MAGELAB_STAGE=gpu-check", "PYTHONUNBUFFERED=1", "VIRTUAL_ENV=/p/.venv"}},
		{"UserSettingsKept", []string{"CUDA_DEVICE_ORDER=FASTEST_FIRST", "CUDA_VISIBLE_DEVICES=1", "TF_CPP_MIN_LOG_LEVEL=0"}, []string{
			"CUDA_DEVICE_ORDER=FASTEST_FIRST", "CUDA_VISIBLE_DEVICES=1", "TF_CPP_MIN_LOG_LEVEL=0", "PATH=/p/.venv/bin", "PYTHONPATH=/p/python",
			"MAGELAB_STAGE=gpu-check", "PYTHONUNBUFFERED=1", "VIRTUAL_ENV=/p/.venv"}},
		{"OuterVenvAndRunDropped", []string{"VIRTUAL_ENV=/other", "PYTHONHOME=/x", "MAGELAB_RUN_ID=0199", "MAGELAB_STAGE=train", "PATH=/a", "PATH=/b", "PYTHONPATH=/mine"}, []string{
			"PATH=/p/.venv/bin:/b", "PYTHONPATH=/p/python:/mine", "CUDA_DEVICE_ORDER=PCI_BUS_ID", "TF_CPP_MIN_LOG_LEVEL=2",
			"MAGELAB_STAGE=gpu-check", "PYTHONUNBUFFERED=1", "VIRTUAL_ENV=/p/.venv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, args, env := CheckCommand("/p/.venv/bin/python", "/p/python/gpu/check_torch.py", "/p/.magelab/gpu-check/params.json", "/p/.magelab/gpu-check/torch", "/p/python", tt.base)
			wantArgs := []string{"/p/python/gpu/check_torch.py", "--params", "/p/.magelab/gpu-check/params.json", "--out", "/p/.magelab/gpu-check/torch"}
			assert.Equal(t, "/p/.venv/bin/python", path, "command path")
			assert.Equal(t, wantArgs, args, "command args")
			assert.Equal(t, tt.env, env, "env")
		})
	}
}
