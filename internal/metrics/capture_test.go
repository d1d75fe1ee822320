package metrics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCapture(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want map[string]float64
	}{
		{"NameEqualsValue", "accuracy=0.93\n", map[string]float64{"accuracy": 0.93}},
		{"EpochReport", "epoch 3 loss=0.12, acc=0.93\n", map[string]float64{"loss": 0.12, "acc": 0.93}},
		{"ColonLine", "val_loss: 0.21\n", map[string]float64{"val_loss": 0.21}},
		{"SeveralPairsAndALabel", "epoch 3: loss=0.12, acc=0.9 lr=3e-4\n", map[string]float64{"loss": 0.12, "acc": 0.9, "lr": 3e-4}},
		{"TwoLabelWords", "[train] step 100: loss=0.5\n", map[string]float64{"loss": 0.5}},
		{"CounterAndSeparators", "Epoch 1/10 - train_loss=0.5 - val_loss=0.4 | 100%\n", map[string]float64{"train_loss": 0.5, "val_loss": 0.4}},
		{"LastValueWins", "acc=0.1\nacc=0.2\n", map[string]float64{"acc": 0.2}},
		{"CarriageReturnLines", "acc=0.5\r\n", map[string]float64{"acc": 0.5}},
		{"ProgressBarRedraws", "loss=0.9\rloss=0.5\r\n", map[string]float64{"loss": 0.5}},
		{"ProseIsNotAReport", "dataset determined that: vocab_size=27, block_size=16\n", map[string]float64{}},
		{"ProseSentence", "We found that a learning rate of lr=0.1 works\n", map[string]float64{}},
		{"ArgparseNamespace", "Namespace(lr=0.1, epochs=3)\n", map[string]float64{}},
		{"DictEcho", "{'lr': 0.1, 'epochs': 3}\n", map[string]float64{}},
		{"ProgressLinesWithoutPairs", "step 500 | loss 2.41 | step time 13.06ms\nstep 500 train loss: 2.32 test loss: 2.30\n", map[string]float64{}},
		{"ColonInProse", "Saving to model.pt: done\nx = 3 with spaces\nurl=http://a\n", map[string]float64{}},
		{"NotNumbers", "acc=nan loss=inf name=abc\n", map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Capture(strings.NewReader(tc.out)))
		})
	}
}

// FuzzCapture: any output is read without a panic, and every metric it
// records is a name=value or name: value the line holds.
func FuzzCapture(f *testing.F) {
	for _, s := range []string{"accuracy=0.93", "epoch 3 loss=0.12, acc=0.93", "val_loss: 0.21", "dataset determined that: vocab_size=27"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for name := range CaptureLine(line) {
			if !strings.Contains(line, name+"=") && !strings.Contains(line, name) {
				t.Fatalf("%q: metric %q is not in the line", line, name)
			}
		}
	})
}
