package e2e

import (
	"strings"
	"testing"
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
		if acc := run.Metrics["accuracy"]; acc < 0.5 || acc > 1 {
			t.Fatalf("accuracy %v not recorded from the script's output:\n%s", acc, r.out)
		}
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
		if run.Metrics["accuracy"] == 0 || run.Metrics["loss"] == 0 {
			t.Fatalf("metrics %v", run.Metrics)
		}
	})
	t.Run("UnknownTemplateName", func(t *testing.T) {
		p.write("experiments/badcmd.yaml", `name: badcmd
stages:
  train: {cmd: "python python/examples/plain_train.py --lr ${train.rate}"}
train: {lr: 0.05}
`)
		r := p.mage("train", "-exp=badcmd")
		if r.code == 0 || !strings.Contains(r.out, "train.rate") {
			t.Fatalf("exit %d:\n%s", r.code, r.out)
		}
	})
}
