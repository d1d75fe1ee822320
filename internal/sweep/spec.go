package sweep

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// Spec is an experiment's sweep block, checked.
type Spec struct {
	Method     string  // "grid" or "random"
	Parameters []Param // sorted by key: the grid's last key varies fastest
	Trials     int     // random: how many points
	Seed       int     // random: the sampler's seed (default: the experiment's)
	Metric     string  // what "best" means; "" ranks nothing
	Goal       string  // "maximize" or "minimize"
	Parallel   int     // slots; 0 means auto
	// GPUsPerTrial, TrialsPerGPU and ThreadsPerTrial shape the slots.
	GPUsPerTrial, TrialsPerGPU, ThreadsPerTrial int
	// MaxFailures stops the sweep after that many failed trials; 0 means
	// the default: stop after 3 while no trial has succeeded; -1 never.
	MaxFailures int
}

// Param is one swept parameter: a list of values, or a range to sample.
type Param struct {
	Key    string
	Values []any // a choice; nil for a range
	Min    float64
	Max    float64
	Log    bool // log-uniform
	Int    bool // integers from [Min, Max]
}

// IsRange reports whether p is sampled from [Min, Max] rather than a list.
func (p Param) IsRange() bool { return p.Values == nil }

var specKeys = []string{"method", "parameters", "trials", "seed", "metric", "goal", "parallel",
	"gpus_per_trial", "trials_per_gpu", "threads_per_trial", "max_failures"}

// ParseSpec checks exp's sweep block. Errors name the file and the field.
func ParseSpec(exp *config.Experiment) (*Spec, error) {
	if exp.Sweep == nil {
		return nil, fmt.Errorf("%s has no sweep: block; add one (method, parameters, metric, goal), see README \"Sweeps\"", fileOf(exp))
	}
	s := &Spec{Method: "grid", Goal: "maximize", Seed: exp.Seed, GPUsPerTrial: 1, TrialsPerGPU: 1, ThreadsPerTrial: 1}
	f := fields{file: fileOf(exp), m: exp.Sweep}
	for k := range exp.Sweep {
		if !slices.Contains(specKeys, k) {
			return nil, f.errorf(k, "unknown key%s; a sweep block has %s", config.DidYouMean(k, specKeys), strings.Join(specKeys, ", "))
		}
	}
	var err error
	if s.Method, err = f.oneOf("method", s.Method, "grid", "random"); err != nil {
		return nil, err
	}
	if s.Goal, err = f.oneOf("goal", s.Goal, "maximize", "minimize"); err != nil {
		return nil, err
	}
	if s.Metric, err = f.str("metric"); err != nil {
		return nil, err
	}
	for _, n := range []struct {
		key string
		dst *int
		min int
	}{{"trials", &s.Trials, 1}, {"seed", &s.Seed, 0}, {"gpus_per_trial", &s.GPUsPerTrial, 1},
		{"trials_per_gpu", &s.TrialsPerGPU, 1}, {"threads_per_trial", &s.ThreadsPerTrial, 1}, {"max_failures", &s.MaxFailures, -1}} {
		if err := f.int(n.key, n.dst, n.min); err != nil {
			return nil, err
		}
	}
	if s.Parallel, err = f.parallel(); err != nil {
		return nil, err
	}
	if s.Parameters, err = f.params(s.Method); err != nil {
		return nil, err
	}
	if _, has := exp.Sweep["trials"]; s.Method == "random" && !has {
		return nil, f.errorf("trials", "method: random needs trials: N (how many points to sample)")
	}
	if _, has := exp.Sweep["trials"]; s.Method == "grid" && has {
		return nil, f.errorf("trials", "a grid runs every combination; trials: applies to method: random")
	}
	return s, nil
}

// fields reads the raw sweep block, naming file and field in errors.
type fields struct {
	file string
	m    map[string]any
}

func (f fields) errorf(field, format string, args ...any) error {
	return fmt.Errorf("%s: sweep.%s: %s", f.file, field, fmt.Sprintf(format, args...))
}

func (f fields) str(key string) (string, error) {
	v, ok := f.m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", f.errorf(key, "want a name, found %v", v)
	}
	return s, nil
}

func (f fields) oneOf(key, def string, allowed ...string) (string, error) {
	s, err := f.str(key)
	if err != nil || s == "" {
		return def, err
	}
	if !slices.Contains(allowed, s) {
		return "", f.errorf(key, "%q is not one of %s%s", s, strings.Join(allowed, ", "), config.DidYouMean(s, allowed))
	}
	return s, nil
}

func (f fields) int(key string, dst *int, min int) error {
	v, ok := f.m[key]
	if !ok {
		return nil
	}
	i, ok := v.(int)
	if !ok || i < min {
		return f.errorf(key, "want an integer ≥ %d, found %v", min, v)
	}
	*dst = i
	return nil
}

// parallel reads parallel: auto (0) or a count.
func (f fields) parallel() (int, error) {
	v, ok := f.m["parallel"]
	if !ok || v == "auto" {
		return 0, nil
	}
	if i, ok := v.(int); ok && i >= 1 {
		return i, nil
	}
	return 0, f.errorf("parallel", "want auto or an integer ≥ 1, found %v", v)
}

// params reads the parameters block, sorted by key.
func (f fields) params(method string) ([]Param, error) {
	raw, ok := f.m["parameters"].(map[string]any)
	if !ok || len(raw) == 0 {
		return nil, f.errorf("parameters", "want a mapping of dotted param keys to lists of values (train.lr: [0.1, 0.01]) or ranges ({min: 1e-4, max: 1e-1, log: true})")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Param
	for _, k := range keys {
		p, err := f.param(k, raw[k], method)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func (f fields) param(key string, v any, method string) (Param, error) {
	field := "parameters." + key
	switch v := v.(type) {
	case []any:
		if len(v) == 0 {
			return Param{}, f.errorf(field, "an empty list gives no trial; list at least one value")
		}
		return Param{Key: key, Values: v}, nil
	case map[string]any:
		return f.rangeParam(field, key, v, method)
	default:
		return Param{}, f.errorf(field, "want a list of values ([%v]) or a range ({min: ..., max: ...}), found %v", v, v)
	}
}

func (f fields) rangeParam(field, key string, m map[string]any, method string) (Param, error) {
	allowed := []string{"min", "max", "log", "int"}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return Param{}, f.errorf(field+"."+k, "unknown key%s; a range has min, max, log, int", config.DidYouMean(k, allowed))
		}
	}
	p := Param{Key: key}
	var ok1, ok2 bool
	p.Min, ok1 = number(m["min"])
	p.Max, ok2 = number(m["max"])
	if !ok1 || !ok2 {
		return p, f.errorf(field, "a range needs numbers min and max, found min=%v max=%v", m["min"], m["max"])
	}
	if p.Min > p.Max {
		return p, f.errorf(field, "min %v is above max %v", m["min"], m["max"])
	}
	for k, dst := range map[string]*bool{"log": &p.Log, "int": &p.Int} {
		if v, has := m[k]; has {
			b, isBool := v.(bool)
			if !isBool {
				return p, f.errorf(field+"."+k, "want true or false, found %v", v)
			}
			*dst = b
		}
	}
	if p.Log && p.Min <= 0 {
		return p, f.errorf(field, "a log range needs min > 0, found %v", m["min"])
	}
	if p.Int && (p.Min != math.Trunc(p.Min) || p.Max != math.Trunc(p.Max)) {
		return p, f.errorf(field, "an int range needs whole min and max, found %v and %v", m["min"], m["max"])
	}
	if method == "grid" {
		return p, f.errorf(field, "a grid needs a list of values; a range {min, max} is sampled by method: random")
	}
	return p, nil
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

// fileOf is the experiment file as messages name it: relative to the project.
func fileOf(exp *config.Experiment) string {
	if rel, err := filepath.Rel(exp.Root, exp.File); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return exp.File
}
