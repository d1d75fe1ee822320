package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMetricLines(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want map[string]float64
	}{
		{"NameEqualsValue", "accuracy=0.93\n", map[string]float64{"accuracy": 0.93}},
		{"SeveralPairsOnALine", "epoch 3: loss=0.12, acc=0.9 lr=3e-4\n", map[string]float64{"loss": 0.12, "acc": 0.9, "lr": 3e-4}},
		{"ColonLine", "val_loss: 0.25\n", map[string]float64{"val_loss": 0.25}},
		{"LastValueWins", "acc=0.1\nacc=0.2\n", map[string]float64{"acc": 0.2}},
		{"IgnoresProse", "Saving to model.pt: done\nx = 3 with spaces\nurl=http://a\n", map[string]float64{}},
		{"IgnoresNonNumbers", "acc=nan loss=inf name=abc\n", map[string]float64{}},
		{"CarriageReturnLines", "acc=0.5\r\n", map[string]float64{"acc": 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ParseMetricLines(strings.NewReader(tc.out)))
		})
	}
}

func TestReadMetrics(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]float64
		wantErr string
	}{
		{"Flat", `{"acc": 0.5, "n": 3}`, map[string]float64{"acc": 0.5, "n": 3}, ""},
		{"NullSkipped", `{"acc": null, "b": 1}`, map[string]float64{"b": 1}, ""},
		{"NotJSON", `{"acc": 0.5`, nil, "is not a JSON object"},
		{"NaN", `{"acc": NaN}`, nil, "NaN and Infinity are not JSON"},
		{"StringValue", `{"acc": "high"}`, nil, `metric "acc" is high`},
		{"Nested", `{"acc": {"a": 1}}`, nil, `metric "acc"`},
		{"Array", `[1, 2]`, nil, "is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "metrics.json")
			os.WriteFile(p, []byte(tc.content), 0o644)
			got, err := ReadMetrics(p)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr, "want %q naming the file", tc.wantErr)
				require.ErrorContains(t, err, p, "want %q naming the file", tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("Missing", func(t *testing.T) {
		got, err := ReadMetrics(filepath.Join(t.TempDir(), "none.json"))
		require.NoError(t, err)
		require.Nil(t, got)
	})
}
