package runner

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Preempted is why a run's context was cancelled when a cluster takes its
// node back (a Slurm preemption, requeue or time limit): as the context's
// cause (context.WithCancelCause) it makes the stage's process group get
// Signal, with Grace before SIGKILL (it is a proc.StopRequest), and the run
// is recorded as preempted rather than interrupted.
type Preempted struct {
	Signal syscall.Signal // what the stage is asked to checkpoint on (SIGINT when 0)
	Grace  time.Duration  // how long it may take before SIGKILL
	Why    string         // what the cluster sent: "SIGUSR1 from Slurm (time limit or preemption)"
}

func (p *Preempted) Error() string { return fmt.Sprintf("preempted: %s", p.Why) }

// StopSignal is the signal the stage's process group gets.
func (p *Preempted) StopSignal() syscall.Signal { return p.Signal }

// StopGrace is how long the stage may take to checkpoint and exit.
func (p *Preempted) StopGrace() time.Duration { return p.Grace }

// preempted is ctx's cause when a cluster preempted the run, else nil.
func preempted(ctx context.Context) *Preempted {
	if ctx == nil {
		return nil
	}
	var p *Preempted
	if errors.As(context.Cause(ctx), &p) {
		return p
	}
	return nil
}
