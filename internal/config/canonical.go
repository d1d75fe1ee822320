package config

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// canonicalJSON appends v as canonical JSON to buf: mapping keys sorted by
// byte order, no whitespace, strings escaped as encoding/json does minus the
// HTML escapes, floats by formatFloat. Values outside the Params vocabulary
// fall back to encoding/json; what cannot be encoded (NaN) becomes null.
func canonicalJSON(buf []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...)
	case bool:
		return strconv.AppendBool(buf, t)
	case string:
		return appendJSONString(buf, t)
	case int:
		return strconv.AppendInt(buf, int64(t), 10)
	case int64:
		return strconv.AppendInt(buf, t, 10)
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return append(buf, "null"...)
		}
		return append(buf, formatFloat(t)...)
	case Params:
		return canonicalJSON(buf, map[string]any(t))
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = canonicalJSON(buf, t[k])
		}
		return append(buf, '}')
	case []any:
		buf = append(buf, '[')
		for i, x := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = canonicalJSON(buf, x)
		}
		return append(buf, ']')
	case []string:
		l := make([]any, len(t))
		for i, s := range t {
			l[i] = s
		}
		return canonicalJSON(buf, l)
	}
	return appendOther(buf, v)
}

// appendOther encodes values a caller put into Params by hand (int32,
// float32, map[string]string …) through a round trip to the basic types.
func appendOther(buf []byte, v any) []byte {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(buf, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(buf, rv.Uint(), 10)
	case reflect.Float32:
		return canonicalJSON(buf, rv.Float())
	}
	b, err := json.Marshal(v)
	if err != nil {
		return append(buf, "null"...)
	}
	generic, err := decodeJSON(b)
	if err != nil {
		return append(buf, "null"...)
	}
	return canonicalJSON(buf, generic)
}

// decodeJSON decodes b keeping integers as int.
func decodeJSON(b []byte) (any, error) {
	var generic any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return fromJSON(generic), nil
}

// fromJSON turns json.Number leaves into int or float64.
func fromJSON(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.Atoi(t.String()); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = fromJSON(x)
		}
	case []any:
		for i, x := range t {
			t[i] = fromJSON(x)
		}
	}
	return v
}

func appendJSONString(buf []byte, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(buf, bytes.TrimRight(b.Bytes(), "\n")...)
}

// formatFloat writes f the way encoding/json chooses between plain and
// exponent notation, but always with a '.' in the mantissa (1.0, 1.0e-07) so
// that Python's json and PyYAML both read a float back, never an int or a
// string.
func formatFloat(f float64) string {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	mant, exp, hasExp := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	if hasExp {
		return mant + "e" + exp
	}
	return mant
}

// YAML returns the params as a readable YAML document with sorted keys, lists
// of scalars in flow style: params.yaml in a run directory.
func (p Params) YAML() []byte {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNode(map[string]any(p))); err != nil {
		return nil // the nodes built here always encode
	}
	_ = enc.Close()
	return b.Bytes()
}

// yamlNode builds the YAML node of a params value with explicit tags, so that
// strings which look like numbers come out quoted.
func yamlNode(v any) *yaml.Node {
	scalar := func(tag, val string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val}
	}
	switch t := v.(type) {
	case nil:
		return scalar("!!null", "null")
	case bool:
		return scalar("!!bool", strconv.FormatBool(t))
	case string:
		return scalar("!!str", t)
	case int:
		return scalar("!!int", strconv.Itoa(t))
	case float64:
		switch {
		case math.IsNaN(t):
			return scalar("!!float", ".nan")
		case math.IsInf(t, 1):
			return scalar("!!float", ".inf")
		case math.IsInf(t, -1):
			return scalar("!!float", "-.inf")
		}
		return scalar("!!float", formatFloat(t))
	case Params:
		return yamlNode(map[string]any(t))
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n.Content = append(n.Content, scalar("!!str", k), yamlNode(t[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, x := range t {
			c := yamlNode(x)
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
			n.Content = append(n.Content, c)
		}
		return n
	}
	// Anything else: through canonical JSON, which YAML reads as flow style.
	generic, err := decodeJSON(canonicalJSON(nil, v))
	if err != nil {
		return scalar("!!null", "null")
	}
	return yamlNode(generic)
}
