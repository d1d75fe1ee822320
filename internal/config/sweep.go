package config

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Sweep is an experiment's sweep: block, checked when the experiment is
// loaded.
type Sweep struct {
	Method     string       // "grid", "random", "tpe" or "cmaes"
	Parameters []SweepParam // sorted by key: the grid's last key varies fastest
	Trials     int          // random, tpe, cmaes: how many points (the budget)
	Seed       int          // random, tpe, cmaes: the sampler's seed (default: the experiment's, -set seed=N included)
	Metric     string       // what "best" means; "" ranks nothing
	Goal       string       // "maximize" or "minimize"
	Parallel   int          // slots; 0 means auto
	// GPUsPerTrial, TrialsPerGPU and ThreadsPerTrial shape the slots.
	GPUsPerTrial, TrialsPerGPU, ThreadsPerTrial int
	// MaxFailures stops the sweep after that many failed trials; 0 means
	// the default: stop after 3 while no trial has succeeded; -1 never.
	MaxFailures int
	// EarlyStop, when not nil, stops trials whose curves fall behind.
	EarlyStop *EarlyStop
	// Raw is the block as written, which the sweep's record keeps.
	Raw map[string]any

	seedSet bool // seed: was given; else Seed follows the experiment's
}

// SweepParam is one swept parameter: a list of values, or a range to
// sample.
type SweepParam struct {
	Key    string
	Values []any // a choice; nil for a range
	Min    float64
	Max    float64
	Log    bool // log-uniform
	Int    bool // integers from [Min, Max]
}

// Adaptive reports whether the method proposes points from the results so
// far (Optuna's samplers) rather than listing them in advance.
func (s *Sweep) Adaptive() bool { return s.Method == "tpe" || s.Method == "cmaes" }

// Sampled reports whether the method draws trials: points from ranges,
// trials: N of them.
func (s *Sweep) Sampled() bool { return s.Method != "grid" }

// IsRange reports whether p is sampled from [Min, Max] rather than a list.
func (p SweepParam) IsRange() bool { return p.Values == nil }

// sweepKeys are the keys of a sweep block.
var sweepKeys = []string{"method", "parameters", "trials", "seed", "metric", "goal", "parallel",
	"gpus_per_trial", "trials_per_gpu", "threads_per_trial", "max_failures", "early_stop"}

// sweepMethods are the values of method:.
var sweepMethods = []string{"grid", "random", "tpe", "cmaes"}

// sweepBlock decodes one sweep block: the raw values for their meaning, the
// nodes for the positions of errors.
type sweepBlock struct {
	d     *decoder
	node  *yaml.Node
	raw   map[string]any
	s     *Sweep
	fails int
}

func (d *decoder) sweep(n *yaml.Node, e *Experiment) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "sweep: expected a mapping (method, parameters, ...), found %s", describe(n))
		return
	}
	v, ok := d.value(n, "sweep", rawValue, 1)
	if !ok {
		return
	}
	b := &sweepBlock{d: d, node: n, raw: v.(map[string]any),
		s: &Sweep{Method: "grid", Goal: "maximize", Seed: e.Seed, GPUsPerTrial: 1, TrialsPerGPU: 1, ThreadsPerTrial: 1}}
	b.s.Raw = b.raw
	if b.decode(); b.fails == 0 {
		e.Sweep = b.s
	}
}

// decode checks every key of the block.
func (b *sweepBlock) decode() {
	keys := make([]string, 0, len(b.raw))
	for k := range b.raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(sweepKeys, k) {
			b.errorf(b.key(b.node, k), k, "unknown key%s; a sweep block has %s", didYouMean(k, sweepKeys), strings.Join(sweepKeys, ", "))
		}
	}
	s := b.s
	s.Method = b.top().oneOf("method", s.Method, sweepMethods...)
	s.Goal = b.top().oneOf("goal", s.Goal, "maximize", "minimize")
	s.Metric = b.top().str("metric")
	for _, n := range []struct {
		key string
		dst *int
		min int
	}{{"trials", &s.Trials, 1}, {"seed", &s.Seed, 0}, {"gpus_per_trial", &s.GPUsPerTrial, 1},
		{"trials_per_gpu", &s.TrialsPerGPU, 1}, {"threads_per_trial", &s.ThreadsPerTrial, 1}, {"max_failures", &s.MaxFailures, -1}} {
		b.top().int(n.key, n.dst, n.min)
	}
	_, s.seedSet = b.raw["seed"]
	s.Parallel = b.parallel()
	s.Parameters = b.params(s.Method)
	_, hasTrials := b.raw["trials"]
	switch {
	case s.Sampled() && !hasTrials:
		b.errorf(b.node, "trials", "method: %s needs trials: N (how many points to %s)", s.Method, map[bool]string{false: "sample", true: "try"}[s.Adaptive()])
	case s.Method == "grid" && hasTrials:
		b.errorf(b.val(b.node, "trials"), "trials", "a grid runs every combination; trials: applies to methods random, tpe and cmaes")
	}
	if s.Adaptive() && s.Metric == "" {
		b.errorf(b.node, "metric", "method: %s optimises a metric: name it with metric: (and goal: maximize or minimize)", s.Method)
	}
	if _, ok := b.raw["early_stop"]; ok {
		s.EarlyStop = b.earlyStop()
	}
}

// errorf reports an error on field at n's position.
func (b *sweepBlock) errorf(n *yaml.Node, field, format string, args ...any) {
	b.fails++
	b.d.errorf(n, "sweep.%s: %s", field, fmt.Sprintf(format, args...))
}

// key and val find the key and value nodes of name in mapping m; m itself
// when the key came through a merge (<<) or is absent.
func (b *sweepBlock) key(m *yaml.Node, name string) *yaml.Node { return entry(m, name, 0) }
func (b *sweepBlock) val(m *yaml.Node, name string) *yaml.Node { return entry(m, name, 1) }

func entry(m *yaml.Node, name string, which int) *yaml.Node {
	if m = deref(m); m == nil || m.Kind != yaml.MappingNode {
		return m
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k != nil && k.Value == name {
			return deref(m.Content[i+which])
		}
	}
	return m
}

// top reads the values of the sweep block itself.
func (b *sweepBlock) top() field { return field{b: b, node: b.node, raw: b.raw} }

// parallel reads parallel: auto (0) or a count.
func (b *sweepBlock) parallel() int {
	v, ok := b.raw["parallel"]
	if !ok || v == "auto" {
		return 0
	}
	if i, ok := v.(int); ok && i >= 1 {
		return i
	}
	b.errorf(b.val(b.node, "parallel"), "parallel", "want auto or an integer ≥ 1, found %v", v)
	return 0
}

// params reads the parameters block, sorted by key.
func (b *sweepBlock) params(method string) []SweepParam {
	raw, ok := b.raw["parameters"].(map[string]any)
	if !ok || len(raw) == 0 {
		b.errorf(b.val(b.node, "parameters"), "parameters", "want a mapping of dotted param keys to lists of values (train.lr: [0.1, 0.01]) or ranges ({min: 1e-4, max: 1e-1, log: true})")
		return nil
	}
	node := b.val(b.node, "parameters")
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []SweepParam
	for _, k := range keys {
		if p, ok := b.param(b.val(node, k), k, raw[k], method); ok {
			out = append(out, p)
		}
	}
	return out
}

func (b *sweepBlock) param(n *yaml.Node, key string, v any, method string) (SweepParam, bool) {
	field := "parameters." + key
	switch v := v.(type) {
	case []any:
		if len(v) == 0 {
			b.errorf(n, field, "an empty list gives no trial; list at least one value")
			return SweepParam{}, false
		}
		return b.listParam(n, field, key, v, method)
	case map[string]any:
		return b.rangeParam(n, field, key, v, method)
	default:
		b.errorf(n, field, "want a list of values ([%v]) or a range ({min: ..., max: ...}), found %v", v, v)
		return SweepParam{}, false
	}
}

func (b *sweepBlock) rangeParam(n *yaml.Node, field, key string, m map[string]any, method string) (SweepParam, bool) {
	allowed := []string{"min", "max", "log", "int"}
	for k := range m {
		if !slices.Contains(allowed, k) {
			b.errorf(b.key(n, k), field+"."+k, "unknown key%s; a range has min, max, log, int", didYouMean(k, allowed))
			return SweepParam{}, false
		}
	}
	p := SweepParam{Key: key}
	var ok1, ok2 bool
	p.Min, ok1 = number(m["min"])
	p.Max, ok2 = number(m["max"])
	if !ok1 || !ok2 {
		b.errorf(n, field, "a range needs numbers min and max, found min=%v max=%v", m["min"], m["max"])
		return p, false
	}
	if p.Min > p.Max {
		b.errorf(n, field, "min %v is above max %v", m["min"], m["max"])
		return p, false
	}
	for k, dst := range map[string]*bool{"log": &p.Log, "int": &p.Int} {
		if v, has := m[k]; has {
			flag, isBool := v.(bool)
			if !isBool {
				b.errorf(b.val(n, k), field+"."+k, "want true or false, found %v", v)
				return p, false
			}
			*dst = flag
		}
	}
	switch {
	case p.Log && p.Min <= 0:
		b.errorf(n, field, "a log range needs min > 0, found %v", m["min"])
	case p.Int && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)):
		b.errorf(n, field, "an int range needs whole min and max, found %v and %v", m["min"], m["max"])
	case p.Int && (math.Abs(p.Min) > 1<<53 || math.Abs(p.Max) > 1<<53):
		b.errorf(n, field, "an int range's ends must lie within ±2^53 (%d), found %v and %v", int64(1)<<53, m["min"], m["max"])
	case method == "grid":
		b.errorf(n, field, "a grid needs a list of values; a range {min, max} is sampled by methods random, tpe and cmaes")
	default:
		return p, true
	}
	return p, false
}

// listParam checks a list for the method: Optuna's choices are scalars,
// and CMA-ES searches ranges only.
func (b *sweepBlock) listParam(n *yaml.Node, field, key string, v []any, method string) (SweepParam, bool) {
	switch method {
	case "cmaes":
		b.errorf(n, field, "method: cmaes searches numeric ranges only, and a list is a choice: write {min, max} (int: true for whole numbers, log: true for scales), or use method: tpe")
		return SweepParam{}, false
	case "tpe":
		for _, c := range v {
			switch c.(type) {
			case nil, bool, int, float64, string:
			default:
				b.errorf(n, field, "method: tpe takes choices that are numbers, strings, true/false or null, found %v", c)
				return SweepParam{}, false
			}
		}
	}
	return SweepParam{Key: key, Values: v}, true
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}
