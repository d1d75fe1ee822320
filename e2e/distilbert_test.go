package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/venv"
)

// TestDistilBERTOffline fine-tunes the distilbert-sentiment experiment the
// offline way — a tiny DistilBERT and a WordPiece tokenizer built from the
// generated corpus, loaded with from_pretrained — then evaluates it on the
// held-out reviews: on CPU, in under two minutes, above chance. The default
// (hub) path, with the hub out of reach, fails with a message that says how
// to go offline.
func TestDistilBERTOffline(t *testing.T) {
	p := newProject(t)
	v := venv.Venv{Dir: filepath.Join(repoRoot, ".cache", "test-venv-hf"), Root: repoRoot, Requirements: []string{"python/requirements-hf.txt"}}
	if _, err := v.Ensure(context.Background(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	p.venv = v.Dir

	start := time.Now()
	r := p.mustMage("train", "-exp=distilbert-sentiment", "-set=train.offline=true train.epochs=4 train.device=cpu")
	mustContain(t, r.out, "[setup-data] corpus: train=2000", "[train] offline: built a tiny DistilBERT", "[train] step 4: ")
	run := p.onlyNewRun()
	e := p.mustMage("eval", "-exp=distilbert-sentiment", "-set=eval.batch_size=64")
	took := time.Since(start)
	t.Logf("offline fine-tune + eval: %s; train: %s", took.Round(100*time.Millisecond), metricsText(run.Metrics))
	if took > 2*time.Minute {
		t.Errorf("train + eval took %s, want under 2 minutes", took.Round(time.Second))
	}
	run = p.readRun(run.ID)
	t.Logf("eval: test_accuracy=%.4f test_f1=%.4f", run.Metrics["test_accuracy"], run.Metrics["test_f1"])
	mustContain(t, e.out, "run "+run.ID+" evaluated", "test_accuracy=", "test_f1=")
	if acc := run.Metrics["test_accuracy"]; acc < 0.6 {
		t.Errorf("test_accuracy %.4f: not above chance (0.5) by a margin", acc)
	}
	if f1 := run.Metrics["test_f1"]; f1 < 0.5 {
		t.Errorf("test_f1 %.4f", f1)
	}
	for _, m := range []string{"val_accuracy", "val_f1", "train_loss"} {
		if _, ok := run.Metrics[m]; !ok {
			t.Errorf("run lacks metric %s: %v", m, run.Metrics)
		}
	}
	for _, f := range []string{"out/base-model/tokenizer.json", "out/base-model/config.json", "out/model/config.json",
		"out/model/model.safetensors", "out/model/tokenizer.json", "eval/predictions.jsonl"} {
		if _, err := os.Stat(filepath.Join(p.dir, "runs", run.ID, f)); err != nil {
			t.Errorf("run dir lacks %s", f)
		}
	}
	var cfg struct {
		Model  string `json:"model_type"`
		Layers int    `json:"n_layers"`
	}
	if err := json.Unmarshal([]byte(p.read("runs/"+run.ID+"/out/model/config.json")), &cfg); err != nil || cfg.Model != "distilbert" || cfg.Layers != 2 {
		t.Errorf("fine-tuned config: %+v, %v", cfg, err)
	}
	if run.Framework["transformers"] == nil {
		t.Errorf("framework.json lacks the transformers version: %v", run.Framework)
	}

	t.Run("HubUnreachable", func(t *testing.T) {
		p.env = []string{"HF_HUB_OFFLINE=1"} // fail at once, as the retries here would after a minute
		r := p.mage("train", "-exp=distilbert-sentiment")
		if r.code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", r.code, r.out)
		}
		mustContain(t, r.out, "cannot load model 'distilbert-base-uncased'", "set train.offline: true", "point train.model_name at a local directory")
	})
}

func metricsText(m map[string]float64) string {
	b, _ := json.Marshal(m)
	return string(b)
}
