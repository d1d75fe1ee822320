package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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
	if err != nil {
		tb.Fatal(err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	prefix := fmt.Sprintf("%d (%s) ", pid, strings.TrimSuffix(string(comm), "\n"))
	rest, ok := strings.CutPrefix(string(stat), prefix)
	if !ok {
		tb.Fatalf("stat %q does not start with %q", stat, prefix)
	}
	v, err := strconv.ParseUint(strings.Fields(rest)[22-3], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// procMustStartSleep starts name (a path to sleep, or a link to it) for a
// minute and kills it when the test ends.
func procMustStartSleep(tb testing.TB, name string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(name, "60")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	// A child must start at least one tick (10 ms) after this process.
	time.Sleep(30 * time.Millisecond)
	later := procMustStartSleep(t, sleep)
	link := filepath.Join(t.TempDir(), "a) (b")
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	odd := procMustStartSleep(t, link)
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", odd.Process.Pid)); string(comm) != "a) (b\n" {
		t.Fatalf("child's command name is %q, the test needs %q", comm, "a) (b")
	}

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
			if err != nil {
				t.Fatal(err)
			}
			if want := procStartIndependent(t, tc.pid); got != want {
				t.Errorf("ProcessStart(%d) = %d, want %d", tc.pid, got, want)
			}
		})
	}
	t.Run("LaterChildStartsLater", func(t *testing.T) {
		got, err := ProcessStart(later.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if got <= self {
			t.Errorf("child started at %d ticks, not after this process (%d)", got, self)
		}
	})
	t.Run("NoSuchProcess", func(t *testing.T) {
		// pid_max is one more than the largest pid the kernel hands out.
		b, err := os.ReadFile("/proc/sys/kernel/pid_max")
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if _, err := ProcessStart(pid); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ProcessStart(pid_max) err = %v, want one wrapping os.ErrNotExist", err)
		}
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
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %t", err, tc.wantErr)
			}
			if state != tc.wantState || start != tc.wantStart {
				t.Errorf("got state %q start %d, want %q %d", state, start, tc.wantState, tc.wantStart)
			}
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
		if err != nil || state != 'R' || got != start {
			t.Errorf("comm %q: state %q start %d err %v, want R %d", comm, state, got, err, start)
		}
	})
}

func TestProcessAlive(t *testing.T) {
	procSkipUnlessLinux(t)
	self, err := ProcessStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	exited := exec.Command(procMustLookPath(t, "true"))
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	zombie := exec.Command(procMustLookPath(t, "true"))
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
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
			if got := Alive(tc.pid, tc.start); got != tc.want {
				t.Errorf("processAlive(%d, %d) = %t, want %t", tc.pid, tc.start, got, tc.want)
			}
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
	tb.Fatalf("process %d did not become a zombie", pid)
}
