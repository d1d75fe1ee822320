package mlflow

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/magelab/magelab/internal/gpu"
)

// stepLine is one line of metrics.jsonl: its step and metrics.
type stepLine struct {
	Step    int64
	Metrics map[string]float64
}

// readSteps reads a metrics.jsonl: {"step": n, "name": value, ...} per
// line. A value that is null (lab.log writes a non-finite one so) or not a
// number is left out; a line without an integer step, or that does not
// decode (a torn last line), is skipped and counted.
func readSteps(path string) (lines []stepLine, skipped int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		l, ok := parseStep(b)
		if !ok {
			skipped++
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return lines, skipped, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, skipped, nil
}

func parseStep(b []byte) (stepLine, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return stepLine{}, false
	}
	step, err := strconv.ParseInt(string(m["step"]), 10, 64)
	if err != nil {
		return stepLine{}, false
	}
	l := stepLine{Step: step, Metrics: map[string]float64{}}
	for k, raw := range m {
		if k == "step" {
			continue
		}
		if v, err := strconv.ParseFloat(string(raw), 64); err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
			l.Metrics[k] = v
		}
	}
	return l, true
}

// stepPoints spreads the lines over the train stage's time, from its start
// to just before its end: metrics.jsonl records no clock, and MLflow's
// charts want one. The spacing is a function of the file alone, so an
// export sends the same timestamps every time.
func stepPoints(lines []stepLine, start, end int64) []metric {
	if end < start {
		end = start
	}
	var out []metric
	for i, l := range lines {
		ts := start + (end-start)*int64(i)/int64(len(lines))
		keys := make([]string, 0, len(l.Metrics))
		for k := range l.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, metric{Key: k, Value: flexFloat(l.Metrics[k]), Timestamp: flexInt(ts), Step: flexInt(l.Step)})
		}
	}
	return out
}

// gpuPoints reads a run's gpu.csv as MLflow's own system metrics, one
// step per sample of each GPU: system/gpu_N_utilization_percentage,
// system/gpu_N_memory_usage_megabytes (MB, as MLflow's monitor writes it)
// and system/gpu_N_power_usage_watts, N being nvidia-smi's index.
func gpuPoints(path string) ([]metric, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	samples, err := gpu.ReadSamples(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	steps := map[int]int64{}
	var out []metric
	for _, s := range samples {
		step := steps[s.Index]
		steps[s.Index]++
		for _, c := range []struct {
			v     *float64
			name  string
			scale float64
		}{{s.UtilPct, "utilization_percentage", 1}, {s.MemoryMiB, "memory_usage_megabytes", 1.048576}, {s.PowerW, "power_usage_watts", 1}} {
			if c.v != nil {
				out = append(out, metric{Key: fmt.Sprintf("system/gpu_%d_%s", s.Index, c.name), Value: flexFloat(*c.v * c.scale), Timestamp: flexInt(s.Time.UnixMilli()), Step: flexInt(step)})
			}
		}
	}
	return out, nil
}
