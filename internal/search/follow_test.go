package search

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStep(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		step       int
		value      float64
		ok         bool
	}{
		{"Step", `{"step": 3, "loss": 0.5, "acc": 0.9}`, 3, 0.5, true},
		{"Epoch", `{"epoch": 2, "loss": 1}`, 2, 1, true},
		{"NoMetric", `{"step": 3, "acc": 0.9}`, 0, 0, false},
		{"NullMetric", `{"step": 3, "loss": null}`, 0, 0, false},
		{"FractionalStep", `{"step": 1.5, "loss": 1}`, 0, 0, false},
		{"NoStep", `{"loss": 1}`, 0, 0, false},
		{"NotJSON", `step 3 loss=1`, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, value, ok := ParseStep([]byte(tc.line), "loss")
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.step, step)
			assert.Equal(t, tc.value, value)
		})
	}
}

// collect follows path for loss and records what it passes on.
type collect struct {
	mu    sync.Mutex
	steps []int
	stop  int // step at which to stop following; 0: never
}

func (c *collect) fn(step int, _ float64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps = append(c.steps, step)
	return step == c.stop
}

func (c *collect) seen() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.steps...)
}

// TestFollow: lines written before the file is followed, while it is, and
// just before Stop are all passed on once, in order; partial lines wait for
// their end; repeated and older steps are skipped.
func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "metrics.jsonl")
	c := &collect{}
	f := Follow(path, "loss", c.fn) // the file does not exist yet
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	w, err := os.Create(path)
	require.NoError(t, err)
	defer w.Close()
	w.WriteString(`{"step": 1, "loss": 0.9}` + "\n" + `{"step": 2, "lo`)
	require.Eventually(t, func() bool { return len(c.seen()) == 1 }, 5*time.Second, 10*time.Millisecond)
	w.WriteString(`ss": 0.8}` + "\n" + `{"step": 2, "loss": 0.1}` + "\n" + `{"step": 1, "loss": 0.1}` + "\n")
	w.WriteString(`{"step": 3, "acc": 0.1}` + "\n" + `{"step": 4, "loss": 0.7}` + "\n")
	assert.Equal(t, 3, f.Stop(), "Stop reads the last lines")
	assert.Equal(t, []int{1, 2, 4}, c.seen())
}

// TestFollowStops: once fn says stop, nothing more is passed on.
func TestFollowStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"step": 1, "loss": 1}`+"\n"+`{"step": 2, "loss": 1}`+"\n"+`{"step": 3, "loss": 1}`+"\n"), 0o644))
	c := &collect{stop: 2}
	f := Follow(path, "loss", c.fn)
	require.Eventually(t, func() bool { return len(c.seen()) == 2 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(3 * FollowPoll)
	f.Stop()
	assert.Equal(t, []int{1, 2}, c.seen())
}

// TestFollowReplaced: a script that deletes its old log and starts a new
// one is read from the new file's start.
func TestFollowReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"step": 1, "loss": 1}`+"\n"), 0o644))
	c := &collect{}
	f := Follow(path, "loss", c.fn)
	require.Eventually(t, func() bool { return len(c.seen()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, os.Remove(path))
	require.NoError(t, os.WriteFile(path, []byte(`{"step": 1, "loss": 1}`+"\n"+`{"step": 2, "loss": 1}`+"\n"), 0o644))
	f.Stop()
	assert.Equal(t, []int{1, 2}, c.seen())
}
