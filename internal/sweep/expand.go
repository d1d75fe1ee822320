package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// Trial is one point of a sweep: the values it sets, in Spec.Parameters order.
type Trial struct {
	Index  int // 0-based, in expansion order
	Values []config.KV
}

// Label is the trial's values as -set would take them: "train.hidden=64 train.lr=0.1".
func (t Trial) Label() string {
	parts := make([]string, len(t.Values))
	for i, kv := range t.Values {
		parts[i] = kv.Key + "=" + formatValue(kv.Value)
	}
	return strings.Join(parts, " ")
}

// Expand lists the trials of s: the cartesian product of the lists (grid),
// or s.Trials points drawn with s.Seed (random). The same spec always gives
// the same trials. A point that repeats an earlier one is dropped: it would
// train the same run twice.
func Expand(s *Spec) []Trial {
	var points [][]config.KV
	if s.Method == "random" {
		points = sample(s)
	} else {
		points = grid(s.Parameters)
	}
	var trials []Trial
	seen := map[string]bool{}
	for _, p := range points {
		t := Trial{Index: len(trials), Values: p}
		if l := t.Label(); !seen[l] {
			seen[l] = true
			trials = append(trials, t)
		}
	}
	return trials
}

// GridSize is the number of points of a grid before duplicates are dropped,
// saturating at math.MaxInt; it is known before anything is expanded.
func GridSize(s *Spec) int {
	if s.Method == "random" {
		return s.Trials
	}
	n := 1
	for _, p := range s.Parameters {
		if n > math.MaxInt/len(p.Values) {
			return math.MaxInt
		}
		n *= len(p.Values)
	}
	return n
}

// grid is the cartesian product, the last parameter varying fastest.
func grid(params []Param) [][]config.KV {
	points := [][]config.KV{nil}
	for _, p := range params {
		next := make([][]config.KV, 0, len(points)*len(p.Values))
		for _, pt := range points {
			for _, v := range p.Values {
				next = append(next, append(append([]config.KV(nil), pt...), config.KV{Key: p.Key, Value: v}))
			}
		}
		points = next
	}
	return points
}

// sample draws s.Trials points from a PCG seeded with s.Seed, parameters in
// key order.
func sample(s *Spec) [][]config.KV {
	r := rand.New(rand.NewPCG(uint64(s.Seed), 0x6d6167656c6162)) // "magelab"
	points := make([][]config.KV, s.Trials)
	for i := range points {
		for _, p := range s.Parameters {
			points[i] = append(points[i], config.KV{Key: p.Key, Value: draw(r, p)})
		}
	}
	return points
}

// draw is one value of p: a list element, or a point of its range.
// Continuous values keep 6 significant digits, so that they read well in
// tables and as -set overrides.
func draw(r *rand.Rand, p Param) any {
	switch {
	case !p.IsRange():
		return p.Values[r.IntN(len(p.Values))]
	case p.Int && p.Log:
		lo, hi := math.Log(p.Min), math.Log(p.Max+1)
		return min(int(math.Floor(math.Exp(lo+r.Float64()*(hi-lo)))), int(p.Max))
	case p.Int:
		return int(p.Min) + r.IntN(int(p.Max-p.Min)+1)
	case p.Log:
		lo, hi := math.Log(p.Min), math.Log(p.Max)
		return round6(math.Exp(lo + r.Float64()*(hi-lo)))
	default:
		return round6(p.Min + r.Float64()*(p.Max-p.Min))
	}
}

func round6(x float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	return f
}

// formatValue writes a value as YAML would read it back.
func formatValue(v any) string {
	switch v := v.(type) {
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") { // 1 → 1.0: stays a float
			s += ".0"
		}
		return s
	case string:
		if bareString(v) {
			return v
		}
		return strconv.Quote(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// bareString reports whether YAML reads s back as the same string unquoted.
func bareString(s string) bool {
	switch strings.ToLower(s) {
	case "", "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~":
		return false
	}
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !(c == '-' || c == '.' || (c >= '0' && c <= '9'))) {
			return false
		}
	}
	return true
}
