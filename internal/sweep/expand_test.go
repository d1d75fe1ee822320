package sweep

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/record/recordtest"
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
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestExpandGrid(t *testing.T) {
	s := mustSpec(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 1.0e-3]\n    train.hidden: [64, 128]\n    train.opt: [adam, \"two words\", \"yes\"]\n")
	trials := Expand(s)
	if len(trials) != 18 || GridSize(s) != 18 {
		t.Fatalf("%d trials, GridSize %d, want 18", len(trials), GridSize(s))
	}
	recordtest.CheckGolden(t, "grid.txt", []byte(trialList(trials)))
}

func TestExpandRandom(t *testing.T) {
	sweep := "sweep:\n  method: random\n  trials: 12\n  seed: %d\n  parameters:\n" +
		"    train.lr: {min: 1.0e-5, max: 0.1, log: true}\n    train.hidden: {min: 16, max: 512, int: true, log: true}\n" +
		"    train.epochs: {min: 1, max: 5, int: true}\n    train.opt: [adam, sgd]\n"
	e := experiment(t, fmt.Sprintf(sweep, 1))
	s, err := ParseSpec(e)
	if err != nil {
		t.Fatal(err)
	}
	trials := Expand(s)
	if len(trials) != 12 {
		t.Fatalf("%d trials", len(trials))
	}
	recordtest.CheckGolden(t, "random.txt", []byte(trialList(trials)))
	if again := trialList(Expand(s)); again != trialList(trials) {
		t.Fatalf("the same seed drew other trials:\n%s\nthen\n%s", trialList(trials), again)
	}
	s.Seed = 2
	if other := trialList(Expand(s)); other == trialList(trials) {
		t.Fatal("another seed drew the same trials")
	}
	for _, tr := range trials {
		for _, kv := range tr.Values {
			switch kv.Key {
			case "train.lr":
				if v := kv.Value.(float64); v < 1e-5 || v > 0.1 {
					t.Errorf("lr %v out of range", v)
				}
			case "train.hidden":
				if v := kv.Value.(int); v < 16 || v > 512 {
					t.Errorf("hidden %v out of range", v)
				}
			case "train.epochs":
				if v := kv.Value.(int); v < 1 || v > 5 {
					t.Errorf("epochs %v out of range", v)
				}
			}
		}
		if _, err := e.With(tr.Values); err != nil {
			t.Errorf("trial %s does not apply: %v", tr.Label(), err)
		}
	}
}

// TestRandomCoversTheRange: a log-uniform draw puts about as many points in
// each decade, an int range hits both ends.
func TestRandomCoversTheRange(t *testing.T) {
	s := &Spec{Method: "random", Trials: 3000, Seed: 9, Parameters: []Param{
		{Key: "a", Min: 1e-4, Max: 1, Log: true}, {Key: "b", Min: 1, Max: 3, Int: true}}}
	decades := make([]int, 4)
	ends := map[int]int{}
	for _, tr := range sample(s) {
		decades[min(3, int(math.Floor(-math.Log10(tr[0].Value.(float64)))))]++
		ends[tr[1].Value.(int)]++
	}
	for i, n := range decades {
		if n < 600 || n > 900 {
			t.Errorf("decade %d holds %d of 3000 log-uniform draws, want about 750: %v", i, n, decades)
		}
	}
	if ends[1] < 800 || ends[3] < 800 || len(ends) != 3 {
		t.Errorf("int draws over [1, 3]: %v", ends)
	}
}

func TestExpandDropsRepeats(t *testing.T) {
	s := &Spec{Method: "random", Trials: 10, Parameters: []Param{{Key: "train.opt", Values: []any{"adam", "sgd"}}}}
	if got := Expand(s); len(got) != 2 || got[1].Index != 1 {
		t.Fatalf("trials %s", trialList(got))
	}
	g := &Spec{Method: "grid", Parameters: []Param{{Key: "x", Values: []any{1, 1, 2}}}}
	if got := Expand(g); len(got) != 2 {
		t.Fatalf("trials %s", trialList(got))
	}
}

func TestGridSizeSaturates(t *testing.T) {
	big := make([]any, 1<<20)
	s := &Spec{Parameters: []Param{{Key: "a", Values: big}, {Key: "b", Values: big}, {Key: "c", Values: big}, {Key: "d", Values: big}}}
	if n := GridSize(s); n != math.MaxInt {
		t.Fatalf("GridSize = %d, want MaxInt", n)
	}
}

func TestLabelReadsBackWithSet(t *testing.T) {
	e := experiment(t, "")
	tr := Trial{Values: []config.KV{{Key: "train.lr", Value: 1.0}, {Key: "train.opt", Value: "two words"}, {Key: "train.hidden", Value: 32}}}
	if err := e.Set(tr.Label()); err != nil {
		t.Fatalf("Set(%q): %v", tr.Label(), err)
	}
	w, _ := e.With(tr.Values)
	if string(e.Params.JSON()) != string(w.Params.JSON()) {
		t.Fatalf("Set(Label) gives %s, With gives %s", e.Params.JSON(), w.Params.JSON())
	}
}
