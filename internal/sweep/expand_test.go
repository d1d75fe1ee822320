package sweep

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record/recordtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func trialList(trials []Trial) string {
	var b strings.Builder
	for _, t := range trials {
		fmt.Fprintf(&b, "%d %s\n", t.Index+1, t.Label())
	}
	return b.String()
}

func mustSpec(t *testing.T, sweep string) *Spec {
	t.Helper()
	s, err := ParseSpec(experiment(t, sweep))
	require.NoError(t, err)
	return s
}

func TestExpandGrid(t *testing.T) {
	s := mustSpec(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 1.0e-3]\n    train.hidden: [64, 128]\n    train.opt: [adam, \"two words\", \"yes\"]\n")
	trials := Expand(s)
	require.Len(t, trials, 18, "%d trials, Size %d, want 18", len(trials), Size(s))
	require.Equal(t, 18, Size(s), "%d trials, Size %d, want 18", len(trials), Size(s))
	recordtest.CheckGolden(t, "grid.txt", []byte(trialList(trials)))
}

func TestExpandRandom(t *testing.T) {
	sweep := "sweep:\n  method: random\n  trials: 12\n  seed: %d\n  parameters:\n" +
		"    train.lr: {min: 1.0e-5, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 512, int: true, log: true}\n" +
		"    train.epochs: {min: 1, max: 5, int: true}\n    train.opt: [adam, sgd]\n"
	e := experiment(t, fmt.Sprintf(sweep, 1))
	s, err := ParseSpec(e)
	require.NoError(t, err)
	trials := Expand(s)
	require.Len(t, trials, 12, "trials")
	recordtest.CheckGolden(t, "random.txt", []byte(trialList(trials)))
	require.Equal(t, trialList(trials), trialList(Expand(s)), "the same seed drew other trials")
	s.Seed = 2
	require.NotEqual(t, trialList(trials), trialList(Expand(s)), "another seed drew the same trials")
	for _, tr := range trials {
		for _, kv := range tr.Values {
			switch kv.Key {
			case "train.lr":
				v := kv.Value.(float64)
				assert.GreaterOrEqual(t, v, 1e-5, "lr %v out of range", v)
				assert.LessOrEqual(t, v, 0.1, "lr %v out of range", v)
			case "train.hidden":
				v := kv.Value.(int)
				assert.GreaterOrEqual(t, v, 16, "hidden %v out of range", v)
				assert.LessOrEqual(t, v, 512, "hidden %v out of range", v)
			case "train.epochs":
				v := kv.Value.(int)
				assert.GreaterOrEqual(t, v, 1, "epochs %v out of range", v)
				assert.LessOrEqual(t, v, 5, "epochs %v out of range", v)
			}
		}
		_, err := e.With(tr.Values)
		assert.NoError(t, err, "trial %s does not apply", tr.Label())
	}
}

// TestRandomCoversTheRange: a log-uniform draw puts about as many points in
// each decade, an int range hits both ends.
func TestRandomCoversTheRange(t *testing.T) {
	s := &Spec{Method: "random", Trials: 3000, Seed: 9, Parameters: []Param{
		{Key: "a", Min: 1e-4, Max: 1, Log: true}, {Key: "b", Min: 1, Max: 3, Int: true}}}
	decades := make([]int, 4)
	ends := map[int]int{}
	for _, tr := range sample(s, s.Trials) {
		decades[min(3, int(math.Floor(-math.Log10(tr[0].Value.(float64)))))]++
		ends[tr[1].Value.(int)]++
	}
	for i, n := range decades {
		assert.GreaterOrEqual(t, n, 600, "decade %d holds %d of 3000 log-uniform draws, want about 750: %v", i, n, decades)
		assert.LessOrEqual(t, n, 900, "decade %d holds %d of 3000 log-uniform draws, want about 750: %v", i, n, decades)
	}
	assert.GreaterOrEqual(t, ends[1], 800, "int draws over [1, 3]: %v", ends)
	assert.GreaterOrEqual(t, ends[3], 800, "int draws over [1, 3]: %v", ends)
	assert.Len(t, ends, 3, "int draws over [1, 3]: %v", ends)
}

func TestExpandDropsRepeats(t *testing.T) {
	s := &Spec{Method: "random", Trials: 10, Parameters: []Param{{Key: "train.opt", Values: []any{"adam", "sgd"}}}}
	got := Expand(s)
	require.Len(t, got, 2, "trials %s", trialList(got))
	require.Equal(t, 1, got[1].Index, "trials %s", trialList(got))
	g := &Spec{Method: "grid", Parameters: []Param{{Key: "x", Values: []any{1, 1, 2}}}}
	got = Expand(g)
	require.Len(t, got, 2, "trials %s", trialList(got))
}

func TestSizeSaturates(t *testing.T) {
	big := make([]any, 1<<20)
	s := &Spec{Parameters: []Param{{Key: "a", Values: big}, {Key: "b", Values: big}, {Key: "c", Values: big}, {Key: "d", Values: big}}}
	require.Equal(t, math.MaxInt, Size(s), "Size, want MaxInt")
}

func TestLabelReadsBackWithSet(t *testing.T) {
	e := experiment(t, "")
	tr := Trial{Values: []config.KV{{Key: "train.lr", Value: 1.0}, {Key: "train.opt", Value: "two words"}, {Key: "train.hidden", Value: 32}}}
	require.NoError(t, e.Set(tr.Label()), "Set(%q)", tr.Label())
	w, _ := e.With(tr.Values)
	require.Equal(t, string(w.Params.JSON()), string(e.Params.JSON()), "Set(Label) (actual) against With (expected)")
}
