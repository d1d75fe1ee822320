package config

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadMetricPatterns(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "experiments/ok.yaml", `stages:
  train:
    cmd: "python train.py --out ${out}"
    metrics:
      file: "${out}/results.json"
      patterns:
        - 'step (?P<step>\d+) train loss: (?P<train_loss>\S+) test loss: (?P<test_loss>\S+)'
        - 'acc (?<acc>[\d.]+)'
train: {lr: 0.1}
`)
	e := MustLoad(t, root, "ok")
	s, _ := e.Stage("train")
	assert.Equal(t, "${out}/results.json", s.Metrics)
	require.Len(t, s.Patterns, 2)
	assert.Equal(t, []string{"", "step", "train_loss", "test_loss"}, s.Patterns[0].SubexpNames())

	writeFile(t, root, "experiments/only.yaml", "stages:\n  train: {cmd: \"python train.py\", metrics: {patterns: ['loss=(?P<loss>\\S+)']}}\n")
	s, _ = MustLoad(t, root, "only").Stage("train")
	assert.Empty(t, s.Metrics, "patterns alone declare no file")
	require.Len(t, s.Patterns, 1)

	t.Run("KeyChangesOnlyWithPatterns", func(t *testing.T) {
		writeFile(t, root, "experiments/a.yaml", "stages:\n  train: {cmd: \"python train.py\"}\n")
		writeFile(t, root, "experiments/b.yaml", "stages:\n  train: {cmd: \"python train.py\", metrics: {patterns: ['loss=(?P<loss>\\S+)']}}\n")
		doc, err := MustLoad(t, root, "a").stageKeyDoc("train", nil, "r", nil)
		require.NoError(t, err)
		assert.NotContains(t, string(doc), "metric_patterns", "a stage without patterns keeps its key")
		ka, err := MustLoad(t, root, "a").StageKey("train", nil, "r", nil)
		require.NoError(t, err)
		kb, err := MustLoad(t, root, "b").StageKey("train", nil, "r", nil)
		require.NoError(t, err)
		assert.NotEqual(t, ka, kb)
	})
}

func TestLoadMetricPatternErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string
		line, col  int
	}{
		{"Lookahead", "stages:\n  train:\n    cmd: python train.py\n    metrics:\n      patterns: ['loss (?=x)(?P<loss>\\S+)']\n",
			"stages.train.metrics.patterns[0]: \"loss (?=x)(?P<loss>\\\\S+)\" is not a regular expression Go reads (RE2: no lookaround, no backreferences): error parsing regexp: invalid or unsupported Perl syntax: `(?=`", 5, 18},
		{"NoNamedGroup", "stages:\n  train:\n    cmd: python train.py\n    metrics: {patterns: ['step (?P<step>\\d+) loss (\\S+)']}\n",
			`stages.train.metrics.patterns[0]: "step (?P<step>\\d+) loss (\\S+)" names no metric: write a named group (?P<name>...) for each number to record, and (?P<step>\d+) for the step`, 4, 26},
		{"NotAList", "stages:\n  train:\n    cmd: python train.py\n    metrics: {patterns: 'loss=(?P<loss>\\S+)'}\n",
			`stages.train.metrics.patterns: expected a list of regular expressions, found string "loss=(?P<loss>\\S+)"`, 4, 25},
		{"UnknownKey", "stages:\n  train:\n    cmd: python train.py\n    metrics: {pattern: ['x']}\n",
			`stages.train.metrics: unknown key "pattern" (did you mean "patterns"?); metrics takes file and patterns`, 4, 15},
		{"FileNotAString", "stages:\n  train:\n    cmd: python train.py\n    metrics: {file: [a]}\n",
			`stages.train.metrics: expected a metrics file template or a mapping {file: ..., patterns: [...]}, found a list`, 4, 21},
		{"OnScriptStage", "stages:\n  train: {script: train.py, metrics: {patterns: ['a (?P<a>\\d)']}}\n",
			`stages.train.metrics: only command stages take metrics (the script writes OUTPUT_DIR/metrics.json)`, 2, 38},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "train.py", "")
			writeFile(t, root, "experiments/x.yaml", tc.yaml)
			_, err := Load(root, "x")
			require.Error(t, err)
			var ce *Error
			require.True(t, errors.As(err, &ce), "%T", err)
			assert.Equal(t, fmt.Sprintf("experiments/x.yaml:%d:%d: %s", tc.line, tc.col, tc.want), err.Error())
		})
	}
}
