package proc

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatParent(t *testing.T) {
	line := "4242 (a (weird) name) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n"
	st, err := parseStat([]byte(line))
	require.NoError(t, err, "parseStat = %+v", st)
	require.Equal(t, byte('S'), st.state, "parseStat = %+v, %v", st, err)
	require.Equal(t, 17, st.ppid, "parseStat = %+v, %v", st, err)
	require.Equal(t, uint64(987654), st.start, "parseStat = %+v, %v", st, err)
	for _, bad := range []string{"", "1 (x", "1 (x) S 2 3"} {
		_, err := parseStat([]byte(bad))
		assert.Error(t, err, "parseStat(%q): no error", bad)
	}
}

// TestDescendantsFindsEscapedGrandchild: a grandchild in a session of its
// own (as a server's worker is) is still found through its parent, and Kill
// ends it; Alive then says it is gone.
func TestDescendantsFindsEscapedGrandchild(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sh", "-c", "setsid sleep 30 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	sleeper, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	require.NoError(t, err, "sleeper pid %q", buf[:n])
	var found Proc
	for i := 0; i < 50 && found.PID == 0; i++ { // setsid may exec a moment later
		for _, p := range Descendants(cmd.Process.Pid) {
			if p.PID == sleeper {
				found = p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The listing in the message is taken only on failure, as before.
	if found.PID == 0 || !found.Alive() {
		require.FailNowf(t, "sleeper not found alive", "sleeper %d not among the descendants of %d: %v", sleeper, cmd.Process.Pid, Descendants(cmd.Process.Pid))
	}
	other := Proc{PID: found.PID, Start: found.Start + 1}
	assert.False(t, other.Alive(), "a process with another start time counts as alive: a reused pid would be killed")
	found.Kill(syscall.SIGKILL)
	cmd.Wait() // the shell reaps it
	require.False(t, found.Alive(), "still alive after Kill")
}
