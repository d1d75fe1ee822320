package stamp

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/PID/stat is Linux only")
	}
	before := time.Now()
	p := ThisProcess()
	start, err := proc.ProcessStart(os.Getpid())
	require.NoError(t, err)
	host, _ := os.Hostname()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"HostIsHostname", p.Host == host && host != ""},
		{"PIDIsOwn", p.PID == os.Getpid()},
		{"PIDStartIsOwn", p.PIDStart == start && start != 0},
		{"StartedIsNow", !p.Started.Before(before.Add(-time.Millisecond)) && time.Since(p.Started) < time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.True(t, tc.ok, "ThisProcess() = %+v (host %q, pid %d, start %d)", p, host, os.Getpid(), start)
		})
	}
}
