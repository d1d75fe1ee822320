package stamp

import (
	"os"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// ThisProcess returns the Process stamp of the current process: hostname,
// pid, its start in clock ticks (0 where /proc cannot tell) and now.
func ThisProcess() record.Process {
	start, _ := procSelfStart()
	return record.Process{Host: proc.Hostname(), PID: os.Getpid(), PIDStart: start, Started: time.Now().UTC()}
}

// procSelfStart reads the current process's start once: it never changes.
var procSelfStart = sync.OnceValues(func() (uint64, error) { return proc.ProcessStart(os.Getpid()) })
