package record

// MetricKind names the kind of file or output a metric was read from.
type MetricKind string

// The sources of metrics, in their order of precedence (internal/metrics).
const (
	MetricsJSON  MetricKind = "metrics.json"  // the stage's metrics.json, or the file its metrics: declares
	MetricsJSONL MetricKind = "metrics.jsonl" // the last value of a name in the stage's metrics.jsonl
	MetricsTB    MetricKind = "tensorboard"   // a scalar series of a TensorBoard event file
	MetricsCSV   MetricKind = "csv"           // a column of a CSV metric log (metrics.csv)
	MetricsRegex MetricKind = "pattern"       // a named group of a declared output pattern
	MetricsLog   MetricKind = "output"        // the default name=value / name: value capture
)

// MetricSource is where one metric of a run came from.
type MetricSource struct {
	Stage string     `json:"stage"` // the stage that produced it: train or eval
	Kind  MetricKind `json:"kind"`
	// File is the file read, relative to the run's directory (the log for
	// pattern and output).
	File string `json:"file,omitempty"`
}

// AddMetrics sets the metrics m, from the sources src, on the run: a later
// stage's metric replaces an earlier one of the same name.
func (r *Run) AddMetrics(m map[string]float64, src map[string]MetricSource) {
	if r.Metrics == nil {
		r.Metrics = map[string]float64{}
	}
	for k, v := range m {
		r.Metrics[k] = v
		if s, ok := src[k]; ok {
			if r.MetricSources == nil {
				r.MetricSources = map[string]MetricSource{}
			}
			r.MetricSources[k] = s
		}
	}
}
