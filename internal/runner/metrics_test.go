package runner

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
			got := ParseMetricLines(strings.NewReader(tc.out))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
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
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), p) {
					t.Fatalf("err = %v, want %q naming the file", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("Missing", func(t *testing.T) {
		got, err := ReadMetrics(filepath.Join(t.TempDir(), "none.json"))
		if err != nil || got != nil {
			t.Fatalf("got %v, %v", got, err)
		}
	})
}
