package mlflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/magelab/magelab/internal/record"
)

// params are a run's resolved params as MLflow params: flattened with
// dotted keys (train.lr), each value as run.json writes it (0.01, 30,
// true, "adam" without quotes, lists as JSON), sorted by key. raw is
// run.json as stored, so that numbers keep their spelling; without it the
// record's params are used. Values over MLflow's limit are truncated and
// keys MLflow refuses left out, each with a warning.
func params(raw []byte, r *record.Run) ([]kv, []string) {
	p := r.Params
	if raw != nil {
		var doc struct {
			Params map[string]any `json:"params"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if d.Decode(&doc) == nil && doc.Params != nil {
			p = doc.Params
		}
	}
	return paramList(record.FlattenParams(p), "")
}

// paramList turns flat params into MLflow params under prefix, sorted by
// key.
func paramList(flat map[string]any, prefix string) ([]kv, []string) {
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []kv
	var warnings []string
	for _, k := range keys {
		key := prefix + k
		if why := badKey(key); why != "" {
			warnings = append(warnings, fmt.Sprintf("param %q left out: %s", key, why))
			continue
		}
		v, w := truncated("param", key, paramValue(flat[k]), maxParamLen)
		if w != "" {
			warnings = append(warnings, w)
		}
		out = append(out, kv{Key: key, Value: v})
	}
	return out, warnings
}

// paramValue is one param value as MLflow's string.
func paramValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
