package sweep

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/record/recordtest"
)

func TestPlanMatrix(t *testing.T) {
	e := experiment(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01, 0.001]\n    train.hidden: [16, 32, 64, 128]\n    train.opt: [adam, sgd]\n  metric: acc\n")
	if err := e.Set("train.epochs=2"); err != nil {
		t.Fatal(err)
	}
	m, err := PlanMatrix(e, "train.epochs=2", 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteMatrix(&buf, m); err != nil {
		t.Fatal(err)
	}
	recordtest.CheckGolden(t, "matrix.json", buf.Bytes())
	covered := 0
	for k, c := range m.Include {
		if c.Chunk != k || c.First != covered+1 || c.Last < c.First || c.Trials != 24 || c.Sweep != ID(e) || c.Exp != "experiments/x.yaml" {
			t.Fatalf("chunk %d: %+v", k, c)
		}
		if n := c.Last - c.First + 1; n < 4 || n > 5 {
			t.Errorf("chunk %d holds %d trials: uneven", k, n)
		}
		covered = c.Last
	}
	if covered != 24 || len(m.Include) != 5 {
		t.Fatalf("%d chunks cover trials 1 to %d", len(m.Include), covered)
	}
	again, _ := PlanMatrix(e, "train.epochs=2", 5)
	if b, _ := json.Marshal(again); string(b) != strings.TrimSpace(buf.String()) {
		t.Fatal("the same plan twice differs")
	}
	if one, _ := PlanMatrix(e, "", 0); len(one.Include) != 24 || one.Include[23].First != 24 {
		t.Fatalf("default: %d chunks, want one per trial", len(one.Include))
	}
	if _, err := PlanMatrix(e, "", 257); err == nil || !strings.Contains(err.Error(), "1 to 256 jobs") {
		t.Fatalf("257 jobs: %v", err)
	}
}

func TestPlanMatrixCapsAt256(t *testing.T) {
	vals := make([]string, 300)
	for i := range vals {
		vals[i] = itoa(i)
	}
	e := experiment(t, "sweep:\n  parameters:\n    train.hidden: ["+strings.Join(vals, ", ")+"]\n")
	m, err := PlanMatrix(e, "", 0)
	if err != nil || len(m.Include) != MaxJobs || m.Include[MaxJobs-1].Last != 300 {
		t.Fatalf("%d chunks, %v", len(m.Include), err)
	}
	var buf bytes.Buffer
	WriteMatrix(&buf, m)
	if buf.Len() > 1<<20 {
		t.Fatalf("matrix of %d bytes: over GitHub's 1 MB job output", buf.Len())
	}
}

func TestChunkLoad(t *testing.T) {
	e := experiment(t, "sweep:\n  parameters:\n    train.lr: [0.1, 0.01]\n")
	if err := e.Set("train.epochs=5"); err != nil {
		t.Fatal(err)
	}
	m, _ := PlanMatrix(e, "train.epochs=5", 2)
	path := filepath.Join(t.TempDir(), "plan.json")
	f, _ := os.Create(path)
	WriteMatrix(f, m)
	f.Close()
	read, err := ReadMatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := read.Find(path, 1)
	if err != nil || c.First != 2 {
		t.Fatalf("chunk 1: %+v %v", c, err)
	}
	got, err := c.Load(e.Root)
	if err != nil || got.Params["train"].(map[string]any)["epochs"] != 5 {
		t.Fatalf("load: %v", err)
	}
	if _, err := read.Find(path, 7); err == nil || !strings.Contains(err.Error(), "has no chunk 7 (it has 0 to 1)") {
		t.Fatalf("missing chunk: %v", err)
	}
	mustWrite(t, e.Root, "experiments/x.yaml", strings.Replace(mustRead(t, e.File), "lr: 0.01", "lr: 0.02", 1))
	if _, err := c.Load(e.Root); err == nil || !strings.Contains(err.Error(), "the plan is for sweep "+m.Include[0].Sweep) {
		t.Fatalf("changed experiment: %v", err)
	}
	os.WriteFile(path, []byte(`{"include": []}`), 0o644)
	if _, err := ReadMatrix(path); err == nil || !strings.Contains(err.Error(), "is not a sweep plan") {
		t.Fatalf("empty plan: %v", err)
	}
}

func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
