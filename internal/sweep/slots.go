package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// Slot is where one trial runs at a time: its GPUs (none on CPU) and how
// many CPU threads it may use.
type Slot struct {
	ID      int
	Devices []string // CUDA_VISIBLE_DEVICES entries: physical indices or UUIDs
	Threads int
	// Label, when set, names the slot in progress lines (a Slurm task).
	Label string
	// Inherit leaves CUDA_VISIBLE_DEVICES as the process has it: the slot
	// is a scheduler's allocation, whose GPUs are never overridden.
	Inherit bool
}

// allocationSlot is the one slot of a scheduler's allocation: its GPUs as
// the scheduler made them visible, and all its cores.
func allocationSlot(devices []string, cores int) Slot {
	return Slot{Devices: devices, Threads: max(1, cores), Inherit: true}
}

// Name says what the slot is for progress lines: "gpu 0,1" or "cpu 3".
func (s Slot) Name() string {
	if s.Label != "" {
		return s.Label
	}
	if len(s.Devices) > 0 {
		return "gpu " + strings.Join(s.Devices, ",")
	}
	return "cpu " + strconv.Itoa(s.ID)
}

// Env is the thread caps a trial in s gets on top of the user's
// environment, so that trials do not oversubscribe the CPU. (Its GPUs go
// through runner.TrainOptions.Devices, which also picks what the run
// records and samples.)
func (s Slot) Env() []string {
	n := strconv.Itoa(s.Threads)
	var env []string
	for _, k := range threadVars {
		env = append(env, k+"="+n)
	}
	return env
}

// threadVars cap the threads of OpenMP (and so PyTorch's intra-op pool),
// MKL, OpenBLAS, NumExpr, Accelerate and TensorFlow.
var threadVars = []string{"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
	"NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "TF_NUM_INTRAOP_THREADS", "MAGELAB_THREADS"}

// Slots lays out the trial slots. With GPUs (devices: what the user made
// visible), a slot has GPUsPerTrial of them and each GPU takes TrialsPerGPU
// slots, so no two trials share a GPU unless asked; the CPU is split among
// the slots. Without GPUs, parallel auto is cores / ThreadsPerTrial. parallel
// (the -parallel flag, else the spec's; 0 is auto) caps the count; asking
// for more GPU slots than the GPUs allow is an error rather than sharing.
func Slots(s *Spec, devices []string, cores, parallel int) ([]Slot, error) {
	if parallel == 0 {
		parallel = s.Parallel
	}
	if len(devices) == 0 {
		n := max(1, cores/s.ThreadsPerTrial)
		if parallel > 0 {
			n = parallel
		}
		slots := make([]Slot, n)
		for i := range slots {
			slots[i] = Slot{ID: i, Threads: s.ThreadsPerTrial}
		}
		return slots, nil
	}
	if s.GPUsPerTrial > len(devices) {
		return nil, fmt.Errorf("gpus_per_trial: %d, but %d GPU(s) are visible (%s)", s.GPUsPerTrial, len(devices), strings.Join(devices, ","))
	}
	// Round-robin over the GPU groups, so that a parallel cap below the
	// slot count still spreads trials over every GPU.
	var slots []Slot
	for range s.TrialsPerGPU {
		for g := 0; g+s.GPUsPerTrial <= len(devices); g += s.GPUsPerTrial {
			slots = append(slots, Slot{ID: len(slots), Devices: devices[g : g+s.GPUsPerTrial]})
		}
	}
	if parallel > len(slots) {
		return nil, fmt.Errorf("parallel %d: the %d visible GPU(s) give %d slot(s) with gpus_per_trial: %d and trials_per_gpu: %d; raise trials_per_gpu to share GPUs, or lower parallel",
			parallel, len(devices), len(slots), s.GPUsPerTrial, s.TrialsPerGPU)
	}
	if parallel > 0 {
		slots = slots[:parallel]
	}
	// Trials sharing a GPU would otherwise each start a thread per core.
	for i := range slots {
		slots[i].Threads = max(1, cores/len(slots))
	}
	return slots, nil
}
