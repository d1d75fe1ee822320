package gpu

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Device is one GPU as nvidia-smi lists it. The pointer fields are nil when
// nvidia-smi reports the value as [N/A] or [Not Supported].
type Device struct {
	Index         int      `json:"index"` // nvidia-smi's index: PCI bus order
	UUID          string   `json:"uuid"`
	Name          string   `json:"name"`
	PCIBusID      string   `json:"pci_bus_id"`
	MemoryMiB     int      `json:"memory_mib"` // total; 0 when not reported
	MemoryUsedMiB *float64 `json:"memory_used_mib"`
	UtilPct       *float64 `json:"util_pct"`
	MemUtilPct    *float64 `json:"mem_util_pct"`
	PowerW        *float64 `json:"power_w"`
	TempC         *float64 `json:"temp_c"`
}

// Inventory is the machine's GPUs, its driver and the CUDA version the
// driver supports. An inventory without devices is a machine whose driver
// lists none.
type Inventory struct {
	Driver  string   `json:"driver"`
	CUDA    string   `json:"cuda"` // "" when nvidia-smi does not say
	Devices []Device `json:"devices"`
}

// Query returns the GPUs from `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`
// and the CUDA version from `nvidia-smi --version` (or the banner of plain
// `nvidia-smi` on drivers whose --version does not print it). A missing
// nvidia-smi, a non-zero exit, output it cannot read, or no answer within
// DefaultTimeout (or ctx's deadline, when earlier) is an *UnavailableError.
func Query(ctx context.Context) (*Inventory, error) {
	ctx, cancel, limit := withTimeout(ctx)
	defer cancel()
	out, err := runSMI(ctx, limit, queryArgs()...)
	if err != nil {
		return nil, err
	}
	inv, err := parseQuery(out)
	if err != nil {
		return nil, &UnavailableError{Reason: err.Error(), Err: err}
	}
	cuda, driver := versions(ctx, limit)
	inv.CUDA = cuda
	if inv.Driver == "" {
		inv.Driver = driver
	}
	return inv, nil
}

// versions asks nvidia-smi for the CUDA and driver versions. They are extras:
// failures leave them empty.
func versions(ctx context.Context, limit time.Duration) (cuda, driver string) {
	if out, err := runSMI(ctx, limit, "--version"); err == nil {
		cuda, driver = parseVersion(out)
	}
	if cuda == "" && ctx.Err() == nil {
		if out, err := runSMI(ctx, limit); err == nil {
			cuda = parseBanner(out)
		}
	}
	return cuda, driver
}

// parseQuery reads the CSV lines of the inventory query.
func parseQuery(out []byte) (*Inventory, error) {
	inv := &Inventory{Devices: []Device{}}
	n := 0
	for line := range strings.Lines(string(out)) {
		n++
		if strings.TrimSpace(line) == "" {
			continue
		}
		d, driver, err := parseDevice(strings.TrimRight(line, "\r\n"))
		if err != nil {
			return nil, fmt.Errorf("unexpected nvidia-smi output on line %d (%q): %w", n, strings.TrimSpace(line), err)
		}
		inv.Devices = append(inv.Devices, d)
		if inv.Driver == "" {
			inv.Driver = driver
		}
	}
	return inv, nil
}

// parseDevice reads one line of the inventory query. A name holding commas
// (nvidia-smi does not quote) takes the surplus fields.
func parseDevice(line string) (Device, string, error) {
	const want = 11
	f := strings.Split(line, ",")
	if len(f) < want {
		return Device{}, "", fmt.Errorf("%d fields, want %d", len(f), want)
	}
	extra := len(f) - want
	name := strings.Join(f[1:2+extra], ",")
	f = append(f[:1:1], append([]string{name}, f[2+extra:]...)...)
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var d Device
	var err error
	if d.Index, err = strconv.Atoi(f[0]); err != nil || d.Index < 0 {
		return Device{}, "", fmt.Errorf("index %q is not a GPU index", f[0])
	}
	d.Name, d.UUID, d.PCIBusID = f[1], f[2], naToEmpty(f[10])
	mem, err := optFloat("memory.total", f[4])
	if err != nil {
		return Device{}, "", err
	}
	if mem != nil {
		d.MemoryMiB = int(*mem)
	}
	for _, v := range []struct {
		field string
		text  string
		dst   **float64
	}{
		{"memory.used", f[5], &d.MemoryUsedMiB},
		{"utilization.gpu", f[6], &d.UtilPct},
		{"utilization.memory", f[7], &d.MemUtilPct},
		{"power.draw", f[8], &d.PowerW},
		{"temperature.gpu", f[9], &d.TempC},
	} {
		if *v.dst, err = optFloat(v.field, v.text); err != nil {
			return Device{}, "", err
		}
	}
	return d, naToEmpty(f[3]), nil
}

// notAvailable reports whether nvidia-smi printed no value: [N/A],
// [Not Supported], [Unknown Error], [Insufficient Permissions], … or nothing.
func notAvailable(s string) bool {
	return s == "" || s == "N/A" || strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]")
}

func naToEmpty(s string) string {
	if notAvailable(s) {
		return ""
	}
	return s
}

// optFloat parses a number nvidia-smi may report as not available (nil).
func optFloat(field, s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if notAvailable(s) {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a number", field, s)
	}
	return &v, nil
}

// parseVersion reads `nvidia-smi --version`: "CUDA Version : 13.0" and
// "DRIVER version : 580.159.04".
func parseVersion(out []byte) (cuda, driver string) {
	for line := range strings.Lines(string(out)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "cuda version":
			cuda = naToEmpty(strings.TrimSpace(v))
		case "driver version":
			driver = naToEmpty(strings.TrimSpace(v))
		}
	}
	return cuda, driver
}

var bannerCUDA = regexp.MustCompile(`CUDA Version:\s*([0-9][0-9.]*)`)

// parseBanner reads the CUDA version from plain nvidia-smi's header.
func parseBanner(out []byte) string {
	if m := bannerCUDA.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	return ""
}
