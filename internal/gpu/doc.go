// Package gpu is magelab's view of NVIDIA GPUs: the inventory and the
// telemetry, both through nvidia-smi, which CUDA images and drivers ship, so
// that nothing here links against NVML or CUDA.
//
// GPU information is best effort. A missing nvidia-smi, any non-zero exit
// (2 for a bad query, 6 for no device, 9 for no driver, 12 for no NVML, 18 for
// a driver/library mismatch, …) or one that hangs is an *UnavailableError
// ("no GPU information"), which callers report once as a warning and never
// turn into a failed run.
//
// Telemetry comes from one long-lived `nvidia-smi … -lms N` per process: a
// Sampler, shared by reference count (a sweep of eight trials still runs one
// nvidia-smi). Each run attaches a Recording for the UUIDs of its devices
// and gets their rows as CSV and a Summary.
//
// The package also holds what the gpu and gpu:check targets decide: the
// probe of the frameworks in the venv, the check scripts' results
// (checks.json) and the verdict on them, and their tables.
//
// nvidia-smi numbers GPUs by PCI bus id and ignores CUDA_VISIBLE_DEVICES;
// children get CUDA_DEVICE_ORDER=PCI_BUS_ID so that CUDA numbers them the
// same way, and Visible reads CUDA_VISIBLE_DEVICES as CUDA does.
//
// nvidia-smi runs under the proc package's supervisor, in its own process
// group, stopped through it (SIGINT, then SIGKILL), so that nothing is left
// behind; this package does not import the runner, which imports it.
package gpu
