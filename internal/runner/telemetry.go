package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/record"
)

// gpuRun is a run's share of the GPUs: the devices it may use and the
// recording of their telemetry into runs/<id>/gpu.csv.
type gpuRun struct {
	sampler *gpu.Sampler
	rec     *gpu.Recording
	file    *os.File
}

// noGPUWarning makes "no GPU information" a warning given once per process,
// not once per run of a sweep.
var noGPUWarning sync.Once

// startGPU records which GPUs the run may use (CUDA_VISIBLE_DEVICES as the
// user set it) and starts recording their telemetry. No GPU information is
// never an error: the run goes on without it.
func (r *Run) startGPU(ctx context.Context) *gpuRun {
	rec, s := r.Record, r.settings
	inv, err := gpu.Query(ctx)
	if err != nil {
		var ue *gpu.UnavailableError
		if errors.As(err, &ue) {
			noGPUWarning.Do(func() { r.Warn(err.Error()) })
		}
		return nil
	}
	devices := gpu.Visible(inv, s.CUDAVisible, s.CUDAVisibleSet)
	if len(devices) == 0 {
		return nil
	}
	rec.GPU = &record.GPU{Driver: inv.Driver, CUDA: inv.CUDA}
	for _, d := range devices {
		rec.GPU.Devices = append(rec.GPU.Devices, record.GPUDevice{Index: d.Index, UUID: d.UUID, Name: d.Name, MemoryMiB: d.MemoryMiB})
	}
	sampler, err := gpu.Acquire(ctx, s.GPUInterval)
	if err != nil {
		r.Warn(fmt.Sprintf("GPU telemetry off for this r: %v", err))
	}
	f, err := os.Create(filepath.Join(r.Dir(), "gpu.csv"))
	if err != nil {
		r.Warn(fmt.Sprintf("GPU telemetry off for this r: %v", err))
		sampler.Release()
		return nil
	}
	return &gpuRun{sampler: sampler, rec: sampler.Attach(gpu.UUIDs(devices), f), file: f}
}

// stop ends the recording and puts its summary into the run's record.
func (g *gpuRun) stop(r *record.Run) {
	if g == nil {
		return
	}
	sum := g.rec.Stop()
	g.file.Close()
	interval := g.sampler.Interval()
	g.sampler.Release()
	r.GPU.Telemetry = &record.GPUTelemetry{
		IntervalMS: int(interval.Milliseconds()), Samples: sum.Samples, PeakMemoryMiB: sum.PeakMemoryMiB,
		MeanUtilPct: sum.MeanUtilPct, MaxUtilPct: sum.MaxUtilPct, MeanPowerW: sum.MeanPowerW, EnergyWh: sum.EnergyWh,
	}
}

// gpuBrief is the short GPU description listings show: "1x NVIDIA H200".
func gpuBrief(g *record.GPU) string {
	if g == nil || len(g.Devices) == 0 {
		return ""
	}
	return fmt.Sprintf("%dx %s", len(g.Devices), g.Devices[0].Name)
}
