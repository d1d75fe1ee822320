package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCommandStage runs a script that knows nothing of magelab (plain
// argparse flags, prints accuracy=...) as the train stage.
func TestCommandStage(t *testing.T) {
	p := newProject(t)
	t.Run("MetricsFromOutput", func(t *testing.T) {
		p.write("experiments/plain.yaml", `name: plain
requirements: [python/requirements.txt]
stages:
  train: {cmd: "python python/examples/plain_train.py --lr ${train.lr} --epochs ${train.epochs}"}
train: {lr: 0.05, epochs: 5}
`)
		r := p.mustMage("train", "-exp=plain")
		run := p.onlyNewRun()
		acc := run.Metrics["accuracy"]
		require.GreaterOrEqual(t, acc, 0.5, "accuracy %v not recorded from the script's output:\n%s", acc, r.out)
		require.LessOrEqual(t, acc, 1.0, "accuracy %v not recorded from the script's output:\n%s", acc, r.out)
		mustContain(t, p.read("runs/"+run.ID+"/out/metrics.json"), `"accuracy"`)
		mustContain(t, p.read("runs/"+run.ID+"/logs/train.log"), "accuracy=")
		mustContain(t, p.mustMage("train", "-exp=plain").out, "up to date")
	})
	t.Run("MetricsFromDeclaredFile", func(t *testing.T) {
		p.write("experiments/plainfile.yaml", `name: plainfile
requirements: [python/requirements.txt]
stages:
  train:
    cmd: "python python/examples/plain_train.py --lr ${train.lr} --epochs ${train.epochs} --save ${out}/results.json"
    metrics: "${out}/results.json"
train: {lr: 0.05, epochs: 5}
`)
		p.mustMage("train", "-exp=experiments/plainfile.yaml", "-set=train.epochs=4")
		run := p.onlyNewRun()
		require.NotZero(t, run.Metrics["accuracy"], "metrics %v", run.Metrics)
		require.NotZero(t, run.Metrics["loss"], "metrics %v", run.Metrics)
	})
	t.Run("UnknownTemplateName", func(t *testing.T) {
		p.write("experiments/badcmd.yaml", `name: badcmd
stages:
  train: {cmd: "python python/examples/plain_train.py --lr ${train.rate}"}
train: {lr: 0.05}
`)
		r := p.mage("train", "-exp=badcmd")
		require.NotEqual(t, 0, r.code, "exit %d:\n%s", r.code, r.out)
		require.Contains(t, r.out, "train.rate", "exit %d:\n%s", r.code, r.out)
	})
}
