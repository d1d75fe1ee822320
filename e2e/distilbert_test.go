package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDistilBERTOffline fine-tunes the distilbert-sentiment experiment the
// offline way — a tiny DistilBERT and a WordPiece tokenizer built from the
// generated corpus, loaded with from_pretrained — then evaluates it on the
// held-out reviews: on CPU, above chance. It logs how long that took (18 s
// on an idle 2-core machine, minutes on a loaded one): speed is a
// benchmark's to judge, not a test's. The default
// (hub) path, with the hub out of reach, fails with a message that says how
// to go offline.
func TestDistilBERTOffline(t *testing.T) {
	p := newProject(t)
	v := venv.Venv{Dir: filepath.Join(repoRoot, ".cache", "test-venv-hf"), Root: repoRoot, Requirements: []string{"python/requirements-hf.txt"}}
	_, err := v.Ensure(context.Background(), os.Stderr)
	require.NoError(t, err)
	p.venv = v.Dir

	start := time.Now()
	r := p.mustMage("train", "-exp=distilbert-sentiment", "-set=train.offline=true train.epochs=4 train.device=cpu")
	mustContain(t, r.out, "[setup-data] corpus: train=2000", "[train] offline: built a tiny DistilBERT", "[train] step 4: ")
	run := p.onlyNewRun()
	e := p.mustMage("eval", "-exp=distilbert-sentiment", "-set=eval.batch_size=64")
	took := time.Since(start)
	t.Logf("offline fine-tune + eval: %s; train: %s", took.Round(100*time.Millisecond), metricsText(run.Metrics))
	run = p.readRun(run.ID)
	t.Logf("eval: test_accuracy=%.4f test_f1=%.4f", run.Metrics["test_accuracy"], run.Metrics["test_f1"])
	mustContain(t, e.out, "run "+run.ID+" evaluated", "test_accuracy=", "test_f1=")
	acc := run.Metrics["test_accuracy"]
	assert.GreaterOrEqual(t, acc, 0.6, "test_accuracy %.4f: not above chance (0.5) by a margin", acc)
	f1 := run.Metrics["test_f1"]
	assert.GreaterOrEqual(t, f1, 0.5, "test_f1 %.4f", f1)
	for _, m := range []string{"val_accuracy", "val_f1", "train_loss"} {
		assert.Contains(t, run.Metrics, m, "run lacks metric %s: %v", m, run.Metrics)
	}
	for _, f := range []string{"out/base-model/tokenizer.json", "out/base-model/config.json", "out/model/config.json",
		"out/model/model.safetensors", "out/model/tokenizer.json", "eval/predictions.jsonl"} {
		_, err := os.Stat(filepath.Join(p.dir, "runs", run.ID, f))
		assert.NoError(t, err, "run dir lacks %s", f)
	}
	var cfg struct {
		Model  string `json:"model_type"`
		Layers int    `json:"n_layers"`
	}
	err = json.Unmarshal([]byte(p.read("runs/"+run.ID+"/out/model/config.json")), &cfg)
	assert.NoError(t, err, "fine-tuned config: %+v, %v", cfg, err)
	assert.Equal(t, "distilbert", cfg.Model, "fine-tuned config: %+v, %v", cfg, err)
	assert.Equal(t, 2, cfg.Layers, "fine-tuned config: %+v, %v", cfg, err)
	assert.NotNil(t, run.Framework["transformers"], "framework.json lacks the transformers version: %v", run.Framework)

	t.Run("HubUnreachable", func(t *testing.T) {
		p.env = []string{"HF_HUB_OFFLINE=1"} // fail at once, as the retries here would after a minute
		r := p.mage("train", "-exp=distilbert-sentiment")
		require.Equal(t, 1, r.code, "exit %d, want 1:\n%s", r.code, r.out)
		mustContain(t, r.out, "cannot load model 'distilbert-base-uncased'", "set train.offline: true", "point train.model_name at a local directory")
	})
}

func metricsText(m map[string]float64) string {
	b, _ := json.Marshal(m)
	return string(b)
}
