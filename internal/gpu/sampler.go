package gpu

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultInterval is the telemetry sampling interval when Acquire is given none.
const DefaultInterval = time.Second

// Sampler is this process's single long-lived
// `nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,power.draw --format=csv,noheader,nounits -lms N`.
// Runs attach to it for their devices. A nil *Sampler (nvidia-smi could not
// be started) is valid: its recordings get no rows.
type Sampler struct {
	interval time.Duration
	refs     int // guarded by registry.mu

	mu   sync.Mutex // guards recs and proc, and serialises writes to recordings
	recs map[*Recording]struct{}
	proc *smiProc
}

// registry holds the process-wide sampler.
var registry struct {
	mu sync.Mutex
	s  *Sampler
}

// Acquire returns the process-wide sampler, starting nvidia-smi when no one
// holds it, and counts a reference that Release gives back. Later callers
// share the running sampler and its interval (default DefaultInterval)
// whatever interval they ask for. When its nvidia-smi has exited since, it is
// started again, so a crash costs the runs of the moment, not a whole sweep.
//
// ctx only bounds the start: the sampler lives until the last Release. An
// nvidia-smi that cannot be started is an *UnavailableError with a nil
// Sampler, whose methods are no-ops.
func Acquire(ctx context.Context, interval time.Duration) (*Sampler, error) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, &UnavailableError{Reason: "interrupted before the telemetry sampler started", Err: err}
	}
	s := registry.s
	if s == nil {
		s = &Sampler{interval: interval, recs: map[*Recording]struct{}{}}
	}
	// A sampler already held keeps its holders even when a restart fails:
	// its recordings get no rows, and Err says why.
	if err := s.ensureRunning(); err != nil && registry.s == nil {
		return nil, err
	}
	s.refs++
	registry.s = s
	return s, nil
}

// ensureRunning starts nvidia-smi unless it runs already.
func (s *Sampler) ensureRunning() error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil && !p.exited() {
		return nil
	}
	np, err := startSMI(samplerArgs(s.interval), s.dispatch)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = np
	s.mu.Unlock()
	return nil
}

// Interval is the sampling interval nvidia-smi runs with.
func (s *Sampler) Interval() time.Duration {
	if s == nil {
		return 0
	}
	return s.interval
}

// Err says why the sampler's nvidia-smi ended before it was released (an
// *UnavailableError with its exit status and message), or nil while it runs
// and once it was stopped by Release.
func (s *Sampler) Err() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.earlyExit()
}

// Release gives back a reference from Acquire. The last one stops
// nvidia-smi with SIGINT to its process group (SIGKILL after a grace period)
// and waits for it, so nothing outlives the sampler; recordings still
// attached get no more rows. Release on a nil Sampler does nothing.
func (s *Sampler) Release() error {
	if s == nil {
		return nil
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if s.refs <= 0 {
		return errors.New("gpu: Sampler.Release called more often than Acquire")
	}
	s.refs--
	if s.refs > 0 {
		return nil
	}
	if registry.s == s {
		registry.s = nil
	}
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop(samplerGrace)
	}
	return nil
}

// dispatch hands one line of nvidia-smi's output to the recordings that
// want it, and reports whether it was a telemetry row.
func (s *Sampler) dispatch(line string) bool {
	row, ok := parseRow(line)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.recs {
		if r.uuids[row.UUID] {
			r.add(row)
		}
	}
	return true
}
