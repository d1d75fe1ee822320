package proc

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// StopRequest, as the cause of a context's cancellation
// (context.WithCancelCause), says how Run stops the processes of that
// context: with Signal in place of SIGINT, and Grace before SIGKILL in
// place of the Command's own. A cluster that preempts a job asks this way
// for the signal its scripts checkpoint on, and gives them the time it
// allows.
type StopRequest interface {
	error
	StopSignal() syscall.Signal
	StopGrace() time.Duration
}

// stopHow is the signal and grace period that stop c when ctx is done.
func stopHow(ctx context.Context, c Command) (syscall.Signal, time.Duration) {
	var req StopRequest
	if errors.As(context.Cause(ctx), &req) {
		sig, g := req.StopSignal(), req.StopGrace()
		if sig == 0 {
			sig = syscall.SIGINT
		}
		if g <= 0 {
			g = grace(c.Grace)
		}
		return sig, g
	}
	return syscall.SIGINT, grace(c.Grace)
}
