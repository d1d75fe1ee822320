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

// MaxTrials is the most trials a sweep may have: far more than any machine
// or matrix runs, and small enough that listing them all stays within a
// few hundred megabytes. A larger sweep is refused before anything is
// expanded (-dry still prints its size and its first trials).
const MaxTrials = 100_000

// Expand lists the trials of s: the cartesian product of the lists (grid),
// or s.Trials points drawn with s.Seed (random). The same spec always gives
// the same trials. A point that repeats an earlier one is dropped: it would
// train the same run twice. Callers check Size against MaxTrials first
// (Plan does); Expand never lists more than MaxTrials points.
func Expand(s *Spec) []Trial {
	return First(s, min(Size(s), MaxTrials))
}

// First lists the trials among the first n points of s, in order, without
// building the rest: what -dry shows of a sweep too large to list.
func First(s *Spec, n int) []Trial {
	n = min(n, Size(s))
	var trials []Trial
	seen := map[string]bool{}
	for _, p := range points(s, n) {
		t := Trial{Index: len(trials), Values: p}
		if l := t.Label(); !seen[l] {
			seen[l] = true
			trials = append(trials, t)
		}
	}
	return trials
}

// points are the first n points of s.
func points(s *Spec, n int) [][]config.KV {
	if s.Method == "random" {
		return sample(s, n)
	}
	out := make([][]config.KV, n)
	for k := range out {
		out[k] = gridPoint(s.Parameters, k)
	}
	return out
}

// Size is the number of points of s before duplicates are dropped,
// saturating at math.MaxInt: the product of the lists' lengths (grid), or
// trials (random). It is known before anything is expanded.
func Size(s *Spec) int {
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

// gridPoint is point k of the cartesian product, the last parameter
// varying fastest: k's digits in the mixed radix of the lists' lengths.
func gridPoint(params []Param, k int) []config.KV {
	pt := make([]config.KV, len(params))
	for j := len(params) - 1; j >= 0; j-- {
		vals := params[j].Values
		pt[j] = config.KV{Key: params[j].Key, Value: vals[k%len(vals)]}
		k /= len(vals)
	}
	return pt
}

// sample draws the first n of s.Trials points from a PCG seeded with
// s.Seed, parameters in key order.
func sample(s *Spec, n int) [][]config.KV {
	r := rand.New(rand.NewPCG(uint64(s.Seed), 0x6d6167656c6162)) // "magelab"
	points := make([][]config.KV, n)
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
