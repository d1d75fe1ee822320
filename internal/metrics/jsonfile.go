package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// ReadJSON reads a metrics.json: one JSON object of metric name → number.
// A missing file is no metrics (nil); anything else malformed is an error
// that names the file and the offending metric. A null value is skipped.
func ReadJSON(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		hint := ""
		if bytes.Contains(b, []byte("NaN")) || bytes.Contains(b, []byte("Infinity")) {
			hint = " (NaN and Infinity are not JSON: drop the metric or write null)"
		}
		return nil, fmt.Errorf("%s is not a JSON object of name → number: %v%s", path, err, hint)
	}
	out := make(map[string]float64, len(raw))
	for k, v := range raw {
		n, ok := v.(json.Number)
		if !ok {
			if v == nil {
				continue
			}
			return nil, fmt.Errorf("%s: metric %q is %v (%T); metrics must be numbers", path, k, v, v)
		}
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s: metric %q: %w", path, k, err)
		}
		out[k] = f
	}
	return out, nil
}

// ReadJSONL reads the last value of every name in a metrics.jsonl (one
// {"step": n, "name": value, ...} object per line; "step" itself is not a
// metric). A missing file is nil; lines that are not such objects (a torn
// last line, a stray print) are skipped, and so are values that are not
// finite numbers.
func ReadJSONL(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		var row map[string]any
		if json.Unmarshal(sc.Bytes(), &row) != nil {
			continue
		}
		for k, v := range row {
			if x, ok := v.(float64); ok && k != "step" && !math.IsInf(x, 0) {
				out[k] = x
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// jsonMetrics is a metrics.json's bytes.
func jsonMetrics(m map[string]float64) []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}
