package sweep

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
)

// syncBuffer is a bytes.Buffer safe for the display's goroutines.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

func exercise(d display, b *board) {
	tr := Trial{Index: 0, Values: []config.KV{{Key: "train.lr", Value: 0.1}}}
	b.start(tr, Slot{ID: 0})
	d.trialStarted(0)
	time.Sleep(400 * time.Millisecond) // the live display redraws every 250ms
	o := Outcome{Trial: tr, Status: record.StatusFinished, Metrics: map[string]float64{"acc": 0.9}, Duration: time.Second}
	b.end(o)
	d.println(trialLine(o, "acc", 2))
	d.stop()
}

func TestPlainDisplay(t *testing.T) {
	b := newBoard(&Spec{Metric: "acc"}, 2, 1, func(string) string { return t.TempDir() })
	out := newSyncBuffer()
	exercise(newPlainDisplay(b, out, 50*time.Millisecond), b)
	got := out.String()
	for _, want := range []string{"sweep: 0/2 done · 1 running · 0 failed\n  trial 1 [cpu 0] train.lr=0.1 · ", "trial 1/2 [cpu 0] train.lr=0.1: finished in 1.0s: acc=0.9000"} {
		assert.Contains(t, got, want, "output lacks %q", want)
	}
}

func TestLiveDisplay(t *testing.T) {
	b := newBoard(&Spec{Metric: "acc"}, 2, 1, func(string) string { return t.TempDir() })
	out := newSyncBuffer()
	exercise(newLiveDisplay(context.Background(), b, out), b)
	got := out.String()
	for _, want := range []string{" 0/2 done · 1 running", "trial 1 [cpu 0] train.lr=0.1 · ", " 1/2 done · 0 running · 0 failed · ETA 1.0s · best acc=0.9000 (trial 1)", "trial 1/2 [cpu 0] train.lr=0.1: finished"} {
		assert.Contains(t, got, want, "output lacks %q (output quoted: %q)", want, got)
	}
}
