package gpu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr(v float64) *float64 { return &v }

// h200 is testdata/h200/query.csv and version.txt as an Inventory.
func h200() *Inventory {
	return &Inventory{Driver: "580.159.04", CUDA: "13.0", Devices: []Device{{
		Index: 0, UUID: "GPU-703f6a55-8249-cdee-4b5e-8c293bc03243", Name: "NVIDIA H200", PCIBusID: "00000000:00:06.0",
		MemoryMiB: 143771, MemoryUsedMiB: ptr(0), UtilPct: ptr(0), MemUtilPct: ptr(0), PowerW: ptr(79.72), TempC: ptr(36),
	}}}
}

func TestQuery(t *testing.T) {
	na := h200()
	na.Devices[0].MemoryUsedMiB, na.Devices[0].UtilPct, na.Devices[0].MemUtilPct, na.Devices[0].PowerW = nil, nil, nil, nil
	tests := []struct {
		name string
		fake fakeSMI
		want *Inventory
	}{
		{"OneGPU", fakeSMI{}, h200()},
		{"NotAvailableValuesAreNil", fakeSMI{Query: "testdata/na/query.csv"}, na},
		{"NoGPUListedIsEmpty", fakeSMI{Query: "testdata/empty/query.csv"}, &Inventory{Driver: "580.159.04", CUDA: "13.0", Devices: []Device{}}},
		{"CUDAFromBannerWithoutVersionFlag", fakeSMI{Version: "-"}, h200()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustFakeSMI(t, tt.fake)
			got, err := Query(context.Background())
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "Query() =\n%s\nwant\n%s", dump(got), dump(tt.want))
		})
	}
}

func TestQueryFourGPUs(t *testing.T) {
	mustFakeSMI(t, fakeSMI{Query: "testdata/four-gpu/query.csv"})
	inv, err := Query(context.Background())
	require.NoError(t, err)
	require.Len(t, inv.Devices, 4, "devices")
	uuids, buses := map[string]bool{}, map[string]bool{}
	for i, d := range inv.Devices {
		assert.Equal(t, i, d.Index, "device %d = %+v", i, d)
		assert.Equal(t, "NVIDIA H200", d.Name, "device %d = %+v", i, d)
		assert.Equal(t, 143771, d.MemoryMiB, "device %d = %+v", i, d)
		uuids[d.UUID], buses[d.PCIBusID] = true, true
	}
	assert.Len(t, uuids, 4, "UUIDs %v and bus ids %v are not distinct", uuids, buses)
	assert.Len(t, buses, 4, "UUIDs %v and bus ids %v are not distinct", uuids, buses)
	d := inv.Devices[1]
	assert.Equal(t, 905.0, *d.MemoryUsedMiB, "device 1 = %s", dump(d))
	assert.Equal(t, 18.0, *d.UtilPct, "device 1 = %s", dump(d))
	assert.Equal(t, 121.4, *d.PowerW, "device 1 = %s", dump(d))
}

func TestQueryUnavailable(t *testing.T) {
	for code, msg := range smiMessages {
		t.Run(fmt.Sprintf("Exit%d", code), func(t *testing.T) {
			mustFakeSMI(t, fakeSMI{Exit: code})
			u := mustUnavailable(t)
			assert.Equal(t, code, u.ExitCode, "got %+v", u)
			assert.Contains(t, u.Reason, msg, "got %+v", u)
		})
	}
	t.Run("Missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		u := mustUnavailable(t)
		assert.ErrorIs(t, u, exec.ErrNotFound)
		assert.ErrorContains(t, u, "no GPU information: nvidia-smi not found")
	})
	t.Run("UnreadableOutput", func(t *testing.T) {
		mustFakeSMI(t, fakeSMI{Query: "testdata/h200/nvidia-smi.txt"})
		u := mustUnavailable(t)
		assert.Contains(t, u.Reason, "unexpected nvidia-smi output on line 1", "got %v", u)
	})
	t.Run("UnknownField", func(t *testing.T) {
		mustFakeSMI(t, fakeSMI{})
		_, err := runSMI(context.Background(), time.Second, "--query-gpu=cuda_version", csvFormat)
		var u *UnavailableError
		if assert.ErrorAs(t, err, &u) {
			assert.Equal(t, 2, u.ExitCode, "got %v", err)
			assert.Contains(t, u.Reason, "is not a valid field", "got %v", err)
		}
	})
}

func TestQueryHangs(t *testing.T) {
	fake := mustFakeSMI(t, fakeSMI{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Query(ctx)
	var u *UnavailableError
	require.ErrorAs(t, err, &u, "got %v, want a timeout", err)
	require.ErrorIs(t, err, context.DeadlineExceeded, "got %v, want a timeout", err)
	require.Contains(t, u.Reason, "did not answer within", "got %v, want a timeout", err)
	d := time.Since(start)
	assert.LessOrEqual(t, d, 2*time.Second, "Query took %s after a 300ms deadline", d)
	assertGroupGone(t, fake.pid(t))
}

func TestQueryDefaultTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits DefaultTimeout")
	}
	mustFakeSMI(t, fakeSMI{Hang: true})
	start := time.Now()
	u := mustUnavailable(t)
	d := time.Since(start)
	assert.GreaterOrEqual(t, d, DefaultTimeout, "gave up after %s with %v; want %s", d, u, DefaultTimeout)
	assert.LessOrEqual(t, d, DefaultTimeout+2*time.Second, "gave up after %s with %v; want %s", d, u, DefaultTimeout)
	assert.Contains(t, u.Reason, "within 5s", "gave up after %s with %v; want %s", d, u, DefaultTimeout)
}

func mustUnavailable(t *testing.T) *UnavailableError {
	t.Helper()
	inv, err := Query(context.Background())
	var u *UnavailableError
	require.ErrorAs(t, err, &u, "Query() = %v, %v; want an *UnavailableError", inv, err)
	assert.Nil(t, inv, "Query() returned an inventory with its error: %v", inv)
	return u
}

// assertGroupGone fails unless every process of group pgid has exited.
// Zombies count as gone: they run nothing, and the init of a container may
// be slow to reap the ones it inherits.
func assertGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(time.Second) // SIGKILL is not instant
	for {
		alive := groupMembers(t, pgid)
		if len(alive) == 0 {
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("process group %d still runs %v: orphans left behind", pgid, alive))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// groupMembers lists the processes of group pgid that are not zombies,
// from /proc/PID/stat ("pid (comm) state ppid pgrp ...").
func groupMembers(t *testing.T, pgid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	var alive []string
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[end+1:])
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		alive = append(alive, s[:end+1]+" "+f[0])
	}
	return alive
}

func TestParseDevice(t *testing.T) {
	tests := []struct {
		name, line string
		wantName   string
		wantErr    string
	}{
		{"CommaInName", "0, NVIDIA H200, rev 2, GPU-x, 580.159.04, 143771, 0, 0, 0, 79.72, 36, 00000000:00:06.0", "NVIDIA H200, rev 2", ""},
		{"TooFewFields", "0, NVIDIA H200, GPU-x", "", "3 fields, want 11"},
		{"BadIndex", "x, NVIDIA H200, GPU-x, 580, 1, 0, 0, 0, 0, 0, bus", "", `index "x"`},
		{"BadNumber", "0, NVIDIA H200, GPU-x, 580, 1, 0, 0, 0, 79 W, 0, bus", "", `power.draw "79 W" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, err := parseDevice(tt.line)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tt.wantName, d.Name)
		})
	}
}

func TestParseVersion(t *testing.T) {
	cuda, driver := parseVersion([]byte("NVIDIA-SMI version  : 580.159.04\nNVML version        : 580.159\nDRIVER version      : 580.159.04\nCUDA Version        : 13.0\n"))
	assert.Equal(t, "13.0", cuda, "cuda")
	assert.Equal(t, "580.159.04", driver, "driver")
}
