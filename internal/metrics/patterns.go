package metrics

import (
	"io"
	"regexp"
	"strconv"
)

// StepGroup is the named group of a declared pattern that holds the step.
const StepGroup = "step"

// Matches is what declared patterns found in a script's output: the last
// value of every metric, and the rows of the lines that had a step.
type Matches struct {
	Last  map[string]float64
	Names []string // in the order first found
	Steps []Row
}

// Match reads a script's output line by line with the declared patterns:
// every named group of a matching pattern is a metric (its value must
// parse as a number, else that group is skipped), except the group named
// step, which makes the line a step of metrics.jsonl. Each pattern is
// tried on every line, and the last value of each name wins.
func Match(r io.Reader, patterns []*regexp.Regexp) (Matches, error) {
	m := Matches{Last: map[string]float64{}}
	if len(patterns) == 0 {
		return m, nil
	}
	err := eachLine(r, func(line string) {
		for _, re := range patterns {
			sub := re.FindStringSubmatch(line)
			if sub == nil {
				continue
			}
			m.line(re.SubexpNames(), sub)
		}
	})
	return m, err
}

func (m *Matches) line(names, sub []string) {
	row := Row{Values: map[string]float64{}}
	hasStep := false
	for i, name := range names {
		if name == "" || i >= len(sub) {
			continue
		}
		if name == StepGroup {
			if s, err := strconv.ParseInt(sub[i], 10, 64); err == nil {
				row.Step, hasStep = s, true
			}
			continue
		}
		v := setNumber(nil, name, sub[i])
		if v == nil {
			continue
		}
		if _, seen := m.Last[name]; !seen {
			m.Names = append(m.Names, name)
		}
		m.Last[name] = v[name]
		row.Values[name] = v[name]
	}
	if hasStep && len(row.Values) > 0 {
		m.Steps = append(m.Steps, row)
	}
}
