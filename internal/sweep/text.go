package sweep

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// pluralf is "1 trial has" or "3 trials have".
func pluralf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

// formatMetric writes a metric value with 4 decimals, or as an integer.
func formatMetric(v float64) string {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// formatMetrics writes name=value pairs, first the named one, then the rest
// by name, at most n of them.
func formatMetrics(m map[string]float64, first string, n int) string {
	var names []string
	for k := range m {
		if k != first {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if _, ok := m[first]; ok {
		names = append([]string{first}, names...)
	}
	if len(names) > n {
		names = names[:n]
	}
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + formatMetric(m[k])
	}
	return strings.Join(parts, " ")
}

// formatDuration is a short human duration: 850ms, 4.2s, 3m05s, 1h02m.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
