package metrics

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/magelab/magelab/internal/record"
)

// Input says where a stage's metrics may be.
type Input struct {
	Stage string // the stage's name, recorded in each source
	// Out is the stage's output directory: its metrics.json and
	// metrics.jsonl are read there, and written there by WriteFiles.
	Out string
	// Declared is the file the stage's metrics: names, read in place of
	// Out/metrics.json; it must exist. "" for none.
	Declared string
	// Search are the directories searched, recursively, for event files
	// and CSV metric logs; Skip are directories under them left out.
	Search, Skip []string
	// Log is the stage's output; "" when there is none to read.
	Log string
	// Patterns are the stage's declared output patterns.
	Patterns []*regexp.Regexp
	// Capture reads the default output capture when no other source
	// found a metric.
	Capture bool
	// Base is the directory source files are named relative to (the run's).
	Base string
}

// Result is what Collect found.
type Result struct {
	Metrics  map[string]float64
	Sources  map[string]record.MetricSource
	Steps    []Row    // the series of event files, CSV logs and patterns, by step
	Warnings []string // files skipped or read in part, and why

	wroteJSON, wroteJSONL bool // the stage wrote its own metrics.json / metrics.jsonl
}

// Collect reads a stage's metrics from every source in the order of
// precedence (see the package doc). Only a malformed metrics.json or a
// missing declared file is an error: an unreadable event file or CSV log
// is a warning, and the metrics of the other sources still count.
func Collect(in Input) (*Result, error) {
	res := &Result{Metrics: map[string]float64{}, Sources: map[string]record.MetricSource{}}
	if err := res.readJSON(in); err != nil {
		return nil, err
	}
	events, csvs, err := findLogs(in.Search, in.Skip)
	if err != nil {
		return nil, err
	}
	series := &seriesSet{}
	for _, s := range readEventFiles(events, res) {
		res.addSeries(in, record.MetricsTB, s, series)
	}
	for _, s := range readCSVFiles(csvs, res) {
		res.addSeries(in, record.MetricsCSV, s, series)
	}
	if err := res.readLog(in, series); err != nil {
		return nil, err
	}
	res.Steps = series.rows()
	return res, nil
}

// readJSON takes metrics.json (or the declared file) and metrics.jsonl.
func (res *Result) readJSON(in Input) error {
	path := filepath.Join(in.Out, "metrics.json")
	if in.Declared != "" {
		if _, err := os.Stat(in.Declared); err != nil {
			return fmt.Errorf("declared metrics file %s was not written by the command (%w)", in.Declared, err)
		}
		path = in.Declared
	}
	m, err := ReadJSON(path)
	if err != nil {
		return err
	}
	res.wroteJSON = m != nil && path == filepath.Join(in.Out, "metrics.json")
	res.add(in, record.MetricsJSON, path, m)
	jsonl := filepath.Join(in.Out, "metrics.jsonl")
	m, err = ReadJSONL(jsonl)
	if err != nil {
		return err
	}
	res.wroteJSONL = m != nil
	res.add(in, record.MetricsJSONL, jsonl, m)
	return nil
}

// readLog takes the declared patterns' matches, then the default capture
// when nothing else found a metric.
func (res *Result) readLog(in Input, series *seriesSet) error {
	if in.Log == "" || (len(in.Patterns) == 0 && !in.Capture) {
		return nil
	}
	f, err := os.Open(in.Log)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := Match(f, in.Patterns)
	if err != nil {
		return fmt.Errorf("read %s: %w", in.Log, err)
	}
	fresh := res.add(in, record.MetricsRegex, in.Log, m.Last)
	series.addRows(m.Steps, fresh)
	if len(res.Metrics) > 0 || !in.Capture {
		return nil
	}
	if _, err := f.Seek(0, 0); err != nil {
		return err
	}
	res.add(in, record.MetricsLog, in.Log, Capture(f))
	return nil
}

// add takes the metrics of m that no source before it gave, from file,
// and returns their names.
func (res *Result) add(in Input, kind record.MetricKind, file string, m map[string]float64) map[string]bool {
	fresh := map[string]bool{}
	for k, v := range m {
		if _, ok := res.Metrics[k]; ok {
			continue
		}
		res.Metrics[k] = v
		res.Sources[k] = record.MetricSource{Stage: in.Stage, Kind: kind, File: relTo(in.Base, file)}
		fresh[k] = true
	}
	return fresh
}

// addSeries takes the last value of a named series as a metric, and its
// points as steps, unless an earlier source gave that name. NaN and
// infinite points are left out (JSON has no such numbers); a series that
// ends on one records no metric, with a warning, rather than an older value.
func (res *Result) addSeries(in Input, kind record.MetricKind, s namedSeries, set *seriesSet) {
	if len(s.points) == 0 {
		return
	}
	last := s.points[len(s.points)-1]
	finite := slices.DeleteFunc(slices.Clone(s.points), func(p Point) bool { return !isFinite(p.Value) })
	if _, taken := res.Metrics[s.name]; taken {
		return
	}
	if !isFinite(last.Value) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s: %s ends on %v at step %d: not recorded as a metric", relTo(in.Base, s.file), s.name, last.Value, last.Step))
	} else {
		res.add(in, kind, s.file, map[string]float64{s.name: last.Value})
	}
	set.add(s.name, finite)
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// WriteFiles writes the metrics to the stage's Out/metrics.json and its
// steps to Out/metrics.jsonl, each unless the stage wrote that file
// itself, so that every run directory holds its metrics in the contract's
// form.
func (res *Result) WriteFiles(out string) error {
	if !res.wroteJSON && len(res.Metrics) > 0 {
		if err := os.WriteFile(filepath.Join(out, "metrics.json"), jsonMetrics(res.Metrics), 0o644); err != nil {
			return err
		}
	}
	if !res.wroteJSONL && len(res.Steps) > 0 {
		return writeJSONL(filepath.Join(out, "metrics.jsonl"), res.Steps)
	}
	return nil
}

// findLogs lists the event files and CSV metric logs under dirs, in
// lexical order (an event file's name starts with its time), leaving out
// skip.
func findLogs(dirs, skip []string) (events, csvs []string, err error) {
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			switch {
			case err != nil && path == dir && errors.Is(err, fs.ErrNotExist):
				return fs.SkipAll
			case err != nil:
				return err
			case d.IsDir() && slices.Contains(skip, path):
				return fs.SkipDir
			case !d.Type().IsRegular():
			case isEventFile(d.Name()):
				events = append(events, path)
			case d.Name() == CSVName:
				csvs = append(csvs, path)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("look for metric logs under %s: %w", dir, err)
		}
	}
	return events, csvs, nil
}

// relTo is path relative to base, when it lies under it.
func relTo(base, path string) string {
	if base == "" || path == "" {
		return path
	}
	if rel, err := filepath.Rel(base, path); err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != "../") {
		return filepath.ToSlash(rel)
	}
	return path
}
