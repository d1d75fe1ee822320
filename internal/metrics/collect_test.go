package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
)

// stageDirs makes a run directory with out/ and logs/ and returns an
// Input for its train stage.
func stageDirs(t *testing.T, log string) (Input, string) {
	t.Helper()
	run := t.TempDir()
	out := filepath.Join(run, "out")
	require.NoError(t, os.MkdirAll(filepath.Join(run, "logs"), 0o755))
	require.NoError(t, os.MkdirAll(out, 0o755))
	logPath := filepath.Join(run, "logs", "train.log")
	require.NoError(t, os.WriteFile(logPath, []byte(log), 0o644))
	return Input{Stage: "train", Out: out, Search: []string{run}, Skip: []string{filepath.Join(run, "logs"), filepath.Join(run, "untracked")},
		Log: logPath, Capture: true, Base: run}, run
}

func write(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

func TestCollectPrecedence(t *testing.T) {
	in, run := stageDirs(t, "step 9 train loss: 0.7 test loss: 0.8 acc: x\nshared=5\n")
	in.Patterns = []*regexp.Regexp{regexp.MustCompile(`step (?P<step>\d+) train loss: (?P<train_loss>\S+) test loss: (?P<shared>\S+)`)}
	write(t, filepath.Join(in.Out, "metrics.json"), `{"shared": 1}`)
	write(t, filepath.Join(in.Out, "metrics.jsonl"), `{"step": 1, "shared": 2, "jsonl_only": 2}`+"\n")
	eventFile(t, filepath.Join(in.Out, "tb", "events.out.tfevents.1.host"), 3, "shared", "tb_only")
	write(t, filepath.Join(in.Out, "csv", CSVName), "step,shared,tb_only,csv_only\n1,4,4,4\n")
	eventFile(t, filepath.Join(run, "untracked", "events.out.tfevents.1.host"), 1, "untracked")

	res, err := Collect(in)
	require.NoError(t, err)
	f32 := func(v float64) float64 { return float64(float32(v)) }
	assert.Equal(t, map[string]float64{"shared": 1, "jsonl_only": 2, "tb_only": f32(1.2), "csv_only": 4, "train_loss": 0.7}, res.Metrics)
	src := func(k record.MetricKind, f string) record.MetricSource {
		return record.MetricSource{Stage: "train", Kind: k, File: f}
	}
	assert.Equal(t, map[string]record.MetricSource{
		"shared":     src(record.MetricsJSON, "out/metrics.json"),
		"jsonl_only": src(record.MetricsJSONL, "out/metrics.jsonl"),
		"tb_only":    src(record.MetricsTB, "out/tb/events.out.tfevents.1.host"),
		"csv_only":   src(record.MetricsCSV, "out/csv/metrics.csv"),
		"train_loss": src(record.MetricsRegex, "logs/train.log"),
	}, res.Sources, "each name from the first source that has it; the default capture is only a fallback")
	assert.Empty(t, res.Warnings)
	assert.Equal(t, []Row{
		{0, map[string]float64{"tb_only": 1}},
		{1, map[string]float64{"tb_only": f32(1.1), "csv_only": 4}},
		{2, map[string]float64{"tb_only": f32(1.2)}},
		{9, map[string]float64{"train_loss": 0.7}},
	}, res.Steps, "steps only for the names their source won")
}

func TestCollectTorchRun(t *testing.T) {
	in, _ := stageDirs(t, "")
	copyDir(t, "testdata/torch", filepath.Join(in.Out, "work"))
	res, err := Collect(in)
	require.NoError(t, err)
	f32 := func(v float64) float64 { return float64(float32(v)) }
	assert.Equal(t, map[string]float64{"Loss/train": 1.5, "Loss/test": f32(1.8), "lr": f32(6.25e-5), "acc64": 0.40000000100000005,
		"loss_parts_ce/loss_parts": f32(0.2), "loss_parts_reg/loss_parts": f32(0.04)}, res.Metrics,
		"tags as written; add_scalars' directories name its series apart")
	assert.Equal(t, record.MetricsTB, res.Sources["Loss/test"].Kind)
	assert.True(t, strings.HasPrefix(res.Sources["Loss/test"].File, "out/work/events.out.tfevents."), res.Sources["Loss/test"].File)
	require.Len(t, res.Steps, 5)

	require.NoError(t, res.WriteFiles(in.Out))
	got, err := ReadJSON(filepath.Join(in.Out, "metrics.json"))
	require.NoError(t, err)
	assert.Equal(t, res.Metrics, got, "metrics.json holds what was found")
	jsonl, err := os.ReadFile(filepath.Join(in.Out, "metrics.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(jsonl)), "\n")
	require.Len(t, lines, 5)
	assert.Equal(t, `{"step":4,"Loss/test":1.7999999523162842,"Loss/train":1.5,"acc64":0.40000000100000005,"loss_parts_ce/loss_parts":0.20000000298023224,"loss_parts_reg/loss_parts":0.03999999910593033,"lr":0.0000625000029685907}`, lines[4])
}

func TestCollectFallbackCapture(t *testing.T) {
	in, _ := stageDirs(t, "dataset determined that: vocab_size=27, block_size=16\nepoch 3 loss=0.12, acc=0.93\n")
	res, err := Collect(in)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"loss": 0.12, "acc": 0.93}, res.Metrics)
	assert.Equal(t, record.MetricSource{Stage: "train", Kind: record.MetricsLog, File: "logs/train.log"}, res.Sources["acc"])

	in.Capture = false
	res, err = Collect(in)
	require.NoError(t, err)
	assert.Empty(t, res.Metrics, "a script stage's output is not captured")
}

func TestCollectWarnings(t *testing.T) {
	in, _ := stageDirs(t, "")
	eventFile(t, filepath.Join(in.Out, "events.out.tfevents.1.host"), 3, "loss")
	p := filepath.Join(in.Out, "events.out.tfevents.1.host")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, b[:len(b)-3], 0o644))
	write(t, filepath.Join(in.Out, CSVName), "epoch,loss\n0,1\n")
	res, err := Collect(in)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"loss": float64(float32(0.1))}, res.Metrics, "the torn last record is skipped, the rest kept")
	require.Len(t, res.Warnings, 2)
	assert.Contains(t, res.Warnings[0], "the last record is torn")
	assert.Contains(t, res.Warnings[1], `no "step" column`)
}

func TestCollectNonFiniteLast(t *testing.T) {
	in, _ := stageDirs(t, "")
	write(t, filepath.Join(in.Out, CSVName), "step,loss,acc\n1,0.5,0.1\n2,nan,0.2\n3,inf,0.3\n")
	// A CSV's nan is no number to setNumber: the series simply ends at 1.
	res, err := Collect(in)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"loss": 0.5, "acc": 0.3}, res.Metrics)
}

func TestCollectDeclaredFile(t *testing.T) {
	in, run := stageDirs(t, "acc=0.1\n")
	in.Declared = filepath.Join(run, "results.json")
	_, err := Collect(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declared metrics file "+in.Declared+" was not written")
	write(t, in.Declared, `{"acc": 0.9}`)
	res, err := Collect(in)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"acc": 0.9}, res.Metrics)
	assert.Equal(t, "results.json", res.Sources["acc"].File)
	require.NoError(t, res.WriteFiles(in.Out))
	_, err = os.Stat(filepath.Join(in.Out, "metrics.json"))
	assert.NoError(t, err, "a declared file's metrics are written to metrics.json too")
}

func TestWriteFilesKeepsTheScriptsOwn(t *testing.T) {
	in, _ := stageDirs(t, "")
	write(t, filepath.Join(in.Out, "metrics.json"), `{"a": 1}`)
	write(t, filepath.Join(in.Out, "metrics.jsonl"), `{"step": 1, "a": 1}`+"\n")
	eventFile(t, filepath.Join(in.Out, "events.out.tfevents.1.host"), 2, "b")
	res, err := Collect(in)
	require.NoError(t, err)
	require.NoError(t, res.WriteFiles(in.Out))
	b, _ := os.ReadFile(filepath.Join(in.Out, "metrics.json"))
	assert.JSONEq(t, `{"a": 1}`, string(b))
	b, _ = os.ReadFile(filepath.Join(in.Out, "metrics.jsonl"))
	assert.Equal(t, `{"step": 1, "a": 1}`+"\n", string(b))
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		write(t, filepath.Join(dst, rel), string(b))
		return nil
	}))
}
