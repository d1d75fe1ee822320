package metrics

import (
	"bufio"
	"bytes"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var (
	// one name=value token: "epoch 3 loss=0.12, acc=0.93" holds two.
	pairRE = regexp.MustCompile(`^([A-Za-z_][\w.\-/]*)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$`)
	// a whole line "name: value".
	colonRE = regexp.MustCompile(`^\s*([A-Za-z_][\w.\-/]*)\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$`)
)

// MaxLabelWords is how many words a line may hold besides its name=value
// tokens and still be a report: "epoch 3 loss=0.12" (one word) and
// "[train] step 100: loss=0.5" (two) are reports, "dataset determined
// that: vocab_size=27" (three) is prose.
const MaxLabelWords = 2

// Capture reads metrics from a script's output when nothing better is
// there: a whole line `name: value` is a metric, and so is each
// `name=value` token of a line that is plainly a report. A line is a
// report when, besides its name=value tokens, it holds at most
// MaxLabelWords words, a word being a token with a letter in it (so
// numbers, counters like 3/10, percentages and separators do not count).
// The echo of an argparse Namespace or of a dict is never a report. The
// last value of each name wins; values that are not finite numbers are no
// metrics.
func Capture(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	eachLine(r, func(line string) {
		for k, v := range CaptureLine(line) {
			out[k] = v
		}
	})
	return out
}

// CaptureLine is Capture of one line.
func CaptureLine(line string) map[string]float64 {
	if m := colonRE.FindStringSubmatch(line); m != nil {
		return setNumber(nil, m[1], m[2])
	}
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "Namespace(") || strings.HasPrefix(trimmed, "{") {
		return nil
	}
	var pairs [][]string
	words := 0
	for _, tok := range strings.FieldsFunc(line, isMetricSep) {
		if m := pairRE.FindStringSubmatch(tok); m != nil {
			pairs = append(pairs, m)
		} else if strings.IndexFunc(tok, unicode.IsLetter) >= 0 {
			words++
		}
	}
	if len(pairs) == 0 || words > MaxLabelWords {
		return nil
	}
	var out map[string]float64
	for _, m := range pairs {
		out = setNumber(out, m[1], m[2])
	}
	return out
}

// setNumber sets out[name] to value when it parses as a finite number.
func setNumber(out map[string]float64, name, value string) map[string]float64 {
	f, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return out
	}
	if out == nil {
		out = map[string]float64{}
	}
	out[name] = f
	return out
}

func isMetricSep(r rune) bool {
	return r == ' ' || r == '\t' || r == ',' || r == ';' || r == '(' || r == ')' || r == '[' || r == ']' || r == '|'
}

// eachLine calls fn for every line of r; a carriage return ends a line
// too, so each redraw of a progress bar is a line of its own.
func eachLine(r io.Reader, fn func(string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	sc.Split(scanLines)
	for sc.Scan() {
		fn(sc.Text())
	}
	return sc.Err()
}

func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
