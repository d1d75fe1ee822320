package proc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func procSkipUnlessLinux(tb testing.TB) {
	tb.Helper()
	if runtime.GOOS != "linux" {
		tb.Skip("/proc/PID/stat is Linux only")
	}
}

// procStartIndependent reads field 22 of /proc/PID/stat a second way: it
// takes the command name from /proc/PID/comm, strips the known
// "PID (comm) " prefix and counts fields from there.
func procStartIndependent(tb testing.TB, pid int) uint64 {
	tb.Helper()
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	require.NoError(tb, err)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(tb, err)
	prefix := fmt.Sprintf("%d (%s) ", pid, strings.TrimSuffix(string(comm), "\n"))
	rest, ok := strings.CutPrefix(string(stat), prefix)
	require.True(tb, ok, "stat %q does not start with %q", stat, prefix)
	v, err := strconv.ParseUint(strings.Fields(rest)[22-3], 10, 64)
	require.NoError(tb, err)
	return v
}

// procMustStartSleep starts name (a path to sleep, or a link to it) for a
// minute and kills it when the test ends.
func procMustStartSleep(tb testing.TB, name string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(name, "60")
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func procMustLookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Skipf("%s not on PATH", name)
	}
	return p
}

func TestProcessStart(t *testing.T) {
	procSkipUnlessLinux(t)
	sleep := procMustLookPath(t, "sleep")
	self, err := ProcessStart(os.Getpid())
	require.NoError(t, err)
	// A child must start at least one tick (10 ms) after this process.
	time.Sleep(30 * time.Millisecond)
	later := procMustStartSleep(t, sleep)
	link := filepath.Join(t.TempDir(), "a) (b")
	require.NoError(t, os.Symlink(sleep, link))
	odd := procMustStartSleep(t, link)
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", odd.Process.Pid))
	require.Equal(t, "a) (b\n", string(comm), "child's command name is %q, the test needs %q", comm, "a) (b")

	for _, tc := range []struct {
		name string
		pid  int
	}{
		{"SelfMatchesIndependentParse", os.Getpid()},
		{"LaterChildMatchesIndependentParse", later.Process.Pid},
		{"ParensAndSpacesInCommandName", odd.Process.Pid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ProcessStart(tc.pid)
			require.NoError(t, err)
			want := procStartIndependent(t, tc.pid)
			assert.Equal(t, want, got, "ProcessStart(%d) = %d, want %d", tc.pid, got, want)
		})
	}
	t.Run("LaterChildStartsLater", func(t *testing.T) {
		got, err := ProcessStart(later.Process.Pid)
		require.NoError(t, err)
		assert.Greater(t, got, self, "child started at %d ticks, not after this process (%d)", got, self)
	})
	t.Run("NoSuchProcess", func(t *testing.T) {
		// pid_max is one more than the largest pid the kernel hands out.
		b, err := os.ReadFile("/proc/sys/kernel/pid_max")
		require.NoError(t, err)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		_, err = ProcessStart(pid)
		assert.ErrorIs(t, err, os.ErrNotExist, "ProcessStart(pid_max) err = %v, want one wrapping os.ErrNotExist", err)
	})
}

func TestParseStat(t *testing.T) {
	rest := "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 20 21"
	for _, tc := range []struct {
		name      string
		line      string
		wantState byte
		wantStart uint64
		wantErr   bool
	}{
		{"Plain", "7 (sleep) " + rest, 'S', 4242, false},
		{"ParensAndSpaces", "7 (a) (b) " + rest, 'S', 4242, false},
		{"CloseParenLast", "7 (x)) " + rest, 'S', 4242, false},
		{"Zombie", "7 (z) Z" + rest[1:], 'Z', 4242, false},
		{"NoParen", "7 sleep " + rest, 0, 0, true},
		{"Truncated", "7 (sleep) S 1 2 3", 0, 0, true},
		{"StartNotANumber", "7 (sleep) " + strings.Replace(rest, "4242", "x", 1), 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseStat([]byte(tc.line + "\n"))
			state, start := st.state, st.start
			if tc.wantErr {
				require.Error(t, err, "err = %v, want error %t", err, tc.wantErr)
			} else {
				require.NoError(t, err, "err = %v, want error %t", err, tc.wantErr)
			}
			assert.Equal(t, tc.wantState, state, "got state %q start %d, want %q %d", state, start, tc.wantState, tc.wantStart)
			assert.Equal(t, tc.wantStart, start, "got state %q start %d, want %q %d", state, start, tc.wantState, tc.wantStart)
		})
	}
}

// FuzzParseStat checks that any command name, however odd, leaves the
// start time readable.
func FuzzParseStat(f *testing.F) {
	for _, s := range []string{"sleep", "a) (b", ")", "((", "x) S 1 2", ""} {
		f.Add(s, uint64(12345))
	}
	f.Fuzz(func(t *testing.T, comm string, start uint64) {
		if len(comm) > 64 || strings.ContainsRune(comm, 0) {
			t.Skip()
		}
		line := fmt.Sprintf("99 (%s) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 %d 20 21\n", comm, start)
		st, err := parseStat([]byte(line))
		state, got := st.state, st.start
		assert.NoError(t, err, "comm %q: state %q start %d err %v, want R %d", comm, state, got, err, start)
		assert.Equal(t, byte('R'), state, "comm %q: state %q start %d err %v, want R %d", comm, state, got, err, start)
		assert.Equal(t, start, got, "comm %q: state %q start %d err %v, want R %d", comm, state, got, err, start)
	})
}

func TestProcessAlive(t *testing.T) {
	procSkipUnlessLinux(t)
	self, err := ProcessStart(os.Getpid())
	require.NoError(t, err)
	exited := exec.Command(procMustLookPath(t, "true"))
	require.NoError(t, exited.Run())
	zombie := exec.Command(procMustLookPath(t, "true"))
	require.NoError(t, zombie.Start())
	t.Cleanup(func() { zombie.Wait() })
	procWaitZombie(t, zombie.Process.Pid)

	for _, tc := range []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"SelfAlive", os.Getpid(), self, true},
		{"SelfStartNotRecorded", os.Getpid(), 0, true},
		{"PidReused", os.Getpid(), self - 1, false},
		{"Exited", exited.Process.Pid, 0, false},
		{"ZombieIsGone", zombie.Process.Pid, 0, false},
		{"NoPid", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Alive(tc.pid, tc.start)
			assert.Equal(t, tc.want, got, "processAlive(%d, %d) = %t, want %t", tc.pid, tc.start, got, tc.want)
		})
	}
}

// procWaitZombie waits until pid has exited but is not yet reaped.
func procWaitZombie(tb testing.TB, pid int) {
	tb.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil && bytes.Contains(b, []byte(") Z ")) {
			return
		}
	}
	require.FailNowf(tb, "no zombie", "process %d did not become a zombie", pid)
}
