package config

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"

	"github.com/magelab/magelab/internal/record"
)

// Params holds resolved hyperparameters: "seed" plus the param sections, as
// nested map[string]any whose leaves are int, float64, string, bool, nil or
// []any of those.
type Params map[string]any

// JSON returns the params as canonical JSON (sorted keys, no insignificant
// whitespace, floats always with a '.' or exponent): what a stage reads from
// PARAMS.json and what Hash hashes.
func (p Params) JSON() []byte { return canonicalJSON(nil, map[string]any(p)) }

// Hash returns the sha256 hex digest of JSON.
func (p Params) Hash() string {
	sum := sha256.Sum256(p.JSON())
	return hex.EncodeToString(sum[:])
}

// Lookup returns the value at a dotted key ("train.lr", "seed", "train").
func (p Params) Lookup(dotted string) (any, bool) {
	var cur any = map[string]any(p)
	for _, k := range strings.Split(dotted, ".") {
		m, ok := asMap(cur)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// Flatten returns every leaf under its dotted key ("train.lr" → 0.01), for
// tables and templates (record.FlattenParams).
func (p Params) Flatten() map[string]any { return record.FlattenParams(map[string]any(p)) }

// Select returns the top-level entries named by keys that are present, sharing
// their values with p.
func (p Params) Select(keys ...string) Params {
	out := Params{}
	for _, k := range keys {
		if v, ok := p[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Keys returns the dotted keys of p's leaves, sorted.
func (p Params) Keys() []string {
	flat := p.Flatten()
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// clone deep-copies p so overrides can be applied all or nothing.
func (p Params) clone() Params {
	return Params(cloneValue(map[string]any(p)).(map[string]any))
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case Params:
		return cloneValue(map[string]any(t))
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = cloneValue(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = cloneValue(x)
		}
		return l
	}
	return v
}

// asMap returns v as a mapping when it is one.
func asMap(v any) (map[string]any, bool) {
	switch t := v.(type) {
	case map[string]any:
		return t, true
	case Params:
		return t, true
	}
	return nil, false
}
