package metrics

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	out := strings.Join([]string{
		"dataset determined that: vocab_size=27, block_size=16",
		"step 0 | loss 3.31 | step time 13.06ms",
		"step 0 train loss: 3.30 test loss: 3.31",
		"step 500 | loss 2.41 | step time 12.50ms",
		"step 500 train loss: 2.32 test loss: 2.30",
		"step 600 train loss: n/a test loss: 2.28",
	}, "\n")
	pats := []*regexp.Regexp{
		regexp.MustCompile(`step (?P<step>\d+) train loss: (?P<train_loss>\S+) test loss: (?P<test_loss>\S+)`),
		regexp.MustCompile(`step \d+ \| loss (?P<loss>\S+) \| step time (?P<step_ms>[\d.]+)ms`),
	}
	m, err := Match(strings.NewReader(out), pats)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"train_loss": 2.32, "test_loss": 2.28, "loss": 2.41, "step_ms": 12.5}, m.Last,
		"the last number of each group; n/a is skipped")
	assert.Equal(t, []string{"loss", "step_ms", "train_loss", "test_loss"}, m.Names, "in the order first found")
	assert.Equal(t, []Row{
		{0, map[string]float64{"train_loss": 3.30, "test_loss": 3.31}},
		{500, map[string]float64{"train_loss": 2.32, "test_loss": 2.30}},
		{600, map[string]float64{"test_loss": 2.28}},
	}, m.Steps, "only lines with a step group are steps")
}
