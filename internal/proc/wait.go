package proc

import (
	"syscall"
	"unsafe"
)

// WaitExited blocks until the child pid has exited, leaving it a zombie
// (waitid with WNOWAIT) so that its process group id stays reserved until
// exec.Cmd.Wait reaps it: a SIGKILL to the group then hits only processes
// left behind, never a stranger that reused the id. An error such as ECHILD
// returns at once; Wait then reports it.
func WaitExited(pid int) {
	const pPID = 1      // P_PID from sys/wait.h
	var info [16]uint64 // siginfo_t is 128 bytes
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}
