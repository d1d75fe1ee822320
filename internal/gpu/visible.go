package gpu

import (
	"strconv"
	"strings"
)

// Visible returns the devices a child process sees given
// CUDA_VISIBLE_DEVICES, in the order it sees them. set is false when the
// variable is unset: the child sees every device. An empty value hides all
// of them. Entries are indices (nvidia-smi's, which CUDA shares under
// CUDA_DEVICE_ORDER=PCI_BUS_ID), full UUIDs, or unique UUID prefixes such as
// "GPU-703f"; as in CUDA, the first entry that names no device (or one
// already listed, or several) ends the list, so "0,7,1" on a machine with two
// GPUs is just GPU 0. A nil inventory has no devices.
func Visible(inv *Inventory, cudaVisible string, set bool) []Device {
	if inv == nil {
		return nil
	}
	if !set {
		return inv.Devices
	}
	var out []Device
	seen := map[int]bool{}
	for _, entry := range strings.Split(cudaVisible, ",") {
		d, ok := visibleEntry(inv.Devices, strings.TrimSpace(entry))
		if !ok || seen[d.Index] {
			break
		}
		seen[d.Index] = true
		out = append(out, d)
	}
	return out
}

// visibleEntry finds the one device an entry of CUDA_VISIBLE_DEVICES names.
func visibleEntry(devices []Device, entry string) (Device, bool) {
	if i, err := strconv.Atoi(entry); err == nil {
		for _, d := range devices {
			if d.Index == i {
				return d, true
			}
		}
		return Device{}, false
	}
	if !strings.HasPrefix(entry, "GPU-") {
		return Device{}, false // MIG-… and anything else: not a whole GPU we know
	}
	var found []Device
	for _, d := range devices {
		if strings.HasPrefix(d.UUID, entry) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return Device{}, false
	}
	return found[0], true
}

// UUIDs returns the devices' UUIDs, for Sampler.Attach.
func UUIDs(devices []Device) []string {
	out := make([]string, len(devices))
	for i, d := range devices {
		out[i] = d.UUID
	}
	return out
}
