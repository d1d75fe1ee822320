package search

import (
	"fmt"
	"math"
	"strconv"

	"github.com/magelab/magelab/internal/config"
)

// Distribution is one parameter as Optuna takes it: a list is a
// categorical choice, {min, max} a float, log: true a log scale and
// int: true an integer.
type Distribution struct {
	Type    string  `json:"type"` // "float", "int" or "categorical"
	Low     float64 `json:"low"`
	High    float64 `json:"high"`
	Log     bool    `json:"log,omitempty"`
	Choices []any   `json:"choices,omitempty"`
}

// Space maps a sweep's parameters onto Optuna distributions, by key.
func Space(params []config.SweepParam) map[string]Distribution {
	out := make(map[string]Distribution, len(params))
	for _, p := range params {
		switch {
		case !p.IsRange():
			out[p.Key] = Distribution{Type: "categorical", Choices: p.Values}
		case p.Int:
			out[p.Key] = Distribution{Type: "int", Low: p.Min, High: p.Max, Log: p.Log}
		default:
			out[p.Key] = Distribution{Type: "float", Low: p.Min, High: p.Max, Log: p.Log}
		}
	}
	return out
}

// Values turns a trial's parameters in Optuna's internal representation
// (a float; the index of a choice) back into the sweep's typed values, in
// params order: a choice as the YAML wrote it, an int range as an int, a
// float with 6 significant digits (as method: random draws them), so that
// they read well as -set overrides.
func Values(params []config.SweepParam, internal map[string]float64) ([]config.KV, error) {
	out := make([]config.KV, 0, len(params))
	for _, p := range params {
		v, ok := internal[p.Key]
		if !ok {
			return nil, fmt.Errorf("optuna's trial has no value for %s", p.Key)
		}
		switch {
		case !p.IsRange():
			i := int(v)
			if float64(i) != v || i < 0 || i >= len(p.Values) {
				return nil, fmt.Errorf("optuna's trial has choice %v for %s, which has %d choices", v, p.Key, len(p.Values))
			}
			out = append(out, config.KV{Key: p.Key, Value: p.Values[i]})
		case p.Int:
			out = append(out, config.KV{Key: p.Key, Value: int(math.Round(v))})
		default:
			out = append(out, config.KV{Key: p.Key, Value: round6(v)})
		}
	}
	return out, nil
}

func round6(x float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return f
}
