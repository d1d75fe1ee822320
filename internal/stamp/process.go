package stamp

import (
	"os"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
)

// ThisProcess returns the Process stamp of the current process: hostname,
// pid, its start in clock ticks (0 where /proc cannot tell) and now.
func ThisProcess() record.Process {
	start, _ := proc.SelfStart()
	return record.Process{Host: proc.Hostname(), PID: os.Getpid(), PIDStart: start, Started: time.Now().UTC()}
}
