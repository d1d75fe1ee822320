package config

import (
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// EarlyStop is a sweep's early_stop: block: which of Optuna's pruners stops
// the trials whose curves fall behind, on which metric. A trial is judged
// on the metric it logs at increasing integer steps in metrics.jsonl.
type EarlyStop struct {
	Method string // "median", "asha" or "hyperband"
	Metric string // the metric the pruner reads at each step (default: the sweep's)
	Goal   string // "maximize" or "minimize" (default: the sweep's)
	// MinSteps is the first step at which a trial may be stopped: the
	// median pruner's warm-up steps, ASHA's and Hyperband's minimum resource.
	MinSteps int
	// ReductionFactor is how many trials of a rung go for each that goes on
	// (asha: 4, hyperband: 3, Optuna's defaults).
	ReductionFactor int
	// MaxSteps is Hyperband's maximum resource: the steps of a full trial;
	// 0 lets Optuna take it from the first trial that finishes.
	MaxSteps int
	// WarmupTrials is how many trials must finish before any is stopped
	// (median: 5, asha and hyperband: 0, Optuna's defaults).
	WarmupTrials int
}

// earlyStopKeys are the keys of an early_stop block.
var earlyStopKeys = []string{"method", "metric", "goal", "min_steps", "reduction_factor", "max_steps", "warmup_trials"}

// earlyStopMethods are the values of early_stop.method.
var earlyStopMethods = []string{"median", "asha", "hyperband"}

// earlyStop reads the early_stop block of the sweep.
func (b *sweepBlock) earlyStop() *EarlyStop {
	node := b.val(b.node, "early_stop")
	raw, ok := b.raw["early_stop"].(map[string]any)
	if !ok {
		b.errorf(node, "early_stop", "want a mapping ({method: asha, min_steps: 1}), found %v", b.raw["early_stop"])
		return nil
	}
	fails := b.fails
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(earlyStopKeys, k) {
			b.errorf(b.key(node, k), "early_stop."+k, "unknown key%s; early_stop has %s", didYouMean(k, earlyStopKeys), strings.Join(earlyStopKeys, ", "))
		}
	}
	e := &EarlyStop{Metric: b.s.Metric, Goal: b.s.Goal, MinSteps: 1}
	f := field{b: b, node: node, raw: raw, prefix: "early_stop."}
	e.Method = f.oneOf("method", "", earlyStopMethods...)
	if _, has := raw["method"]; !has {
		b.errorf(node, "early_stop.method", "name the pruner: method: median, asha or hyperband")
	}
	if m := f.str("metric"); m != "" {
		e.Metric = m
	}
	e.Goal = f.oneOf("goal", e.Goal, "maximize", "minimize")
	e.ReductionFactor, e.WarmupTrials = map[string]int{"asha": 4, "hyperband": 3}[e.Method], map[string]int{"median": 5}[e.Method]
	minSteps := map[bool]int{true: 0, false: 1}[e.Method == "median"]
	f.int("min_steps", &e.MinSteps, minSteps)
	f.int("reduction_factor", &e.ReductionFactor, 2)
	f.int("max_steps", &e.MaxSteps, max(1, e.MinSteps))
	f.int("warmup_trials", &e.WarmupTrials, 0)
	switch _, rf := raw["reduction_factor"]; {
	case rf && e.Method == "median":
		b.errorf(b.val(node, "reduction_factor"), "early_stop.reduction_factor", "applies to methods asha and hyperband, not median (which stops a trial below the median of the others at the same step)")
	}
	if _, ms := raw["max_steps"]; ms && e.Method != "" && e.Method != "hyperband" {
		b.errorf(b.val(node, "max_steps"), "early_stop.max_steps", "applies to method: hyperband only (its brackets are laid out from min_steps to max_steps)")
	}
	if e.Metric == "" {
		b.errorf(node, "early_stop.metric", "name the metric the pruner reads at each step: early_stop.metric, or the sweep's metric:")
	}
	if b.fails > fails {
		return nil
	}
	return e
}

// field reads the values of a mapping nested in the sweep block, reporting
// errors at their positions under prefix.
type field struct {
	b      *sweepBlock
	node   *yaml.Node
	raw    map[string]any
	prefix string
}

func (f field) str(key string) string {
	v, ok := f.raw[key]
	if !ok || v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		f.b.errorf(f.b.val(f.node, key), f.prefix+key, "want a name, found %v", v)
		return ""
	}
	return s
}

func (f field) oneOf(key, def string, allowed ...string) string {
	s := f.str(key)
	if s == "" {
		return def
	}
	if !slices.Contains(allowed, s) {
		f.b.errorf(f.b.val(f.node, key), f.prefix+key, "%q is not one of %s%s", s, strings.Join(allowed, ", "), didYouMean(s, allowed))
		return def
	}
	return s
}

func (f field) int(key string, dst *int, min int) {
	v, ok := f.raw[key]
	if !ok {
		return
	}
	i, ok := v.(int)
	if !ok || i < min {
		f.b.errorf(f.b.val(f.node, key), f.prefix+key, "want an integer ≥ %d, found %v", min, v)
		return
	}
	*dst = i
}
