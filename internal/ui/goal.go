package ui

import (
	"regexp"

	"github.com/magelab/magelab/internal/record"
)

// lowerIsBetter matches the metric names whose best value is the lowest:
// losses, errors, perplexities, times.
var lowerIsBetter = regexp.MustCompile(`(?i)(loss|err|mse|mae|rmse|perplexity|ppl|wer|cer|regret|time|latency|_s$)`)

// goalFor is "min" or "max": the sweep's goal for its own metric, else
// what the name says (lowerIsBetter), else "max".
func goalFor(name string, sw *sweepBrief) string {
	if sw != nil && sw.Metric == name && sw.Goal != "" {
		return sw.Goal
	}
	if lowerIsBetter.MatchString(name) {
		return "min"
	}
	return "max"
}

// goalOf is a sweep.started event's goal as "min" or "max" ("" when its
// spec names no metric).
func goalOf(ev record.Event) string {
	if ev.SweepMetric() == "" {
		return ""
	}
	if g, _ := ev.Spec["goal"].(string); g == "minimize" || g == "min" {
		return "min"
	}
	return "max"
}
