package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// ReadMetrics reads a metrics.json: one JSON object of metric name → number.
// A missing file is no metrics; anything else malformed is an error that
// names the file and the offending metric.
func ReadMetrics(path string) (map[string]float64, error) {
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

var (
	// one name=value token: "epoch 3 loss=0.12, acc=0.93" holds two.
	pairRE = regexp.MustCompile(`^([A-Za-z_][\w.\-/]*)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$`)
	// a whole line "name: value".
	colonRE = regexp.MustCompile(`^\s*([A-Za-z_][\w.\-/]*)\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$`)
)

// ParseMetricLines reads metrics from a script's output the Guild way:
// `name=value` pairs and whole `name: value` lines. The last value of each
// name wins.
func ParseMetricLines(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := colonRE.FindStringSubmatch(line); m != nil {
			setMetric(out, m[1], m[2])
			continue
		}
		for _, tok := range strings.FieldsFunc(line, isMetricSep) {
			if m := pairRE.FindStringSubmatch(tok); m != nil {
				setMetric(out, m[1], m[2])
			}
		}
	}
	return out
}

func setMetric(out map[string]float64, name, value string) {
	f, err := strconv.ParseFloat(value, 64)
	if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		out[name] = f
	}
}

func isMetricSep(r rune) bool {
	return r == ' ' || r == '\t' || r == ',' || r == ';' || r == '(' || r == ')' || r == '[' || r == ']' || r == '|'
}

func jsonMetrics(m map[string]float64) []byte {
	b, _ := json.MarshalIndent(m, "", "  ")
	return append(b, '\n')
}
