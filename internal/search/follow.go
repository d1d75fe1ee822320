package search

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"sync"
	"time"
)

// FollowPoll is how often a follower looks at a trial's metrics.jsonl: a
// step is judged within about this long of being written.
const FollowPoll = 50 * time.Millisecond

// Follower reads a running trial's metrics.jsonl as it grows and passes
// each new step of one metric on.
type Follower struct {
	path, metric string
	fn           func(step int, value float64) bool
	stop, done   chan struct{}
	once         sync.Once

	f       *os.File
	off     int64
	partial []byte
	last    int  // the last step passed on
	any     bool // some step was passed on
	ended   bool // fn asked to stop
	steps   int
}

// Follow starts following path: fn gets (step, value) for each complete
// line whose integer "step" (or else "epoch") is above the last one passed
// and whose metric is a finite number, in file order; fn returns true to
// stop following (the trial was pruned). The file need not exist yet, and
// one replaced by a new file is read from its start.
func Follow(path, metric string, fn func(step int, value float64) bool) *Follower {
	f := &Follower{path: path, metric: metric, fn: fn, stop: make(chan struct{}), done: make(chan struct{})}
	go f.loop()
	return f
}

func (f *Follower) loop() {
	defer close(f.done)
	t := time.NewTicker(FollowPoll)
	defer t.Stop()
	for {
		f.poll()
		if f.ended {
			return
		}
		select {
		case <-f.stop:
			f.poll() // the lines written since the last look
			return
		case <-t.C:
		}
	}
}

// Stop reads what was written since the last look, stops following and
// returns how many steps were passed on.
func (f *Follower) Stop() int {
	f.once.Do(func() { close(f.stop) })
	<-f.done
	if f.f != nil {
		f.f.Close()
	}
	return f.steps
}

// poll reads the lines added since the last look.
func (f *Follower) poll() {
	if !f.open() {
		return
	}
	st, err := f.f.Stat()
	if err != nil || st.Size() <= f.off {
		return
	}
	b := make([]byte, st.Size()-f.off)
	n, _ := f.f.ReadAt(b, f.off)
	f.off += int64(n)
	f.partial = append(f.partial, b[:n]...)
	for !f.ended {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		line := f.partial[:i]
		f.partial = f.partial[i+1:]
		f.line(line)
	}
}

// open opens the file, or reopens it when it was replaced, and reports
// whether there is one to read.
func (f *Follower) open() bool {
	st, err := os.Stat(f.path)
	if err != nil {
		return f.f != nil
	}
	if f.f != nil {
		if cur, err := f.f.Stat(); err == nil && os.SameFile(cur, st) {
			return true
		}
		f.f.Close()
		f.f = nil
	}
	file, err := os.Open(f.path)
	if err != nil {
		return false
	}
	f.f, f.off, f.partial = file, 0, nil
	return true
}

func (f *Follower) line(b []byte) {
	step, value, ok := ParseStep(b, f.metric)
	if !ok || (f.any && step <= f.last) {
		return
	}
	f.last, f.any = step, true
	f.steps++
	if f.fn(step, value) {
		f.ended = true
	}
}

// ParseStep reads one metrics.jsonl line: its integer step ("step", else
// "epoch") and the metric's value, when both are there and finite.
func ParseStep(line []byte, metric string) (step int, value float64, ok bool) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return 0, 0, false
	}
	s, ok := m["step"].(float64)
	if !ok {
		if s, ok = m["epoch"].(float64); !ok {
			return 0, 0, false
		}
	}
	v, ok := m[metric].(float64)
	if !ok || s != math.Trunc(s) || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, false
	}
	return int(s), v, true
}
