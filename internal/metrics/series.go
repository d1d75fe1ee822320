package metrics

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Row is one step of metrics.jsonl: {"step": Step, name: value, ...}.
type Row struct {
	Step   int64
	Values map[string]float64
}

// namedSeries is one series under the name it is recorded by, and the file
// it came from.
type namedSeries struct {
	name, file string
	points     []Point
}

// readEventFiles reads the event files and names their series: a tag by
// itself, or, when the same tag is in event files of several directories
// (add_scalars writes one directory per series), prefixed with its
// directory relative to theirs in common. Unreadable files and torn
// records are warnings in res.
func readEventFiles(paths []string, res *Result) []namedSeries {
	type tagged struct {
		dir, tag, file string
		points         []Point
	}
	var all []tagged
	index := map[[2]string]int{} // dir, tag → all
	dirsOf := map[string][]string{}
	for _, p := range paths {
		ef, err := ReadEventFile(p)
		if err != nil {
			res.Warnings = append(res.Warnings, err.Error())
			continue
		}
		if ef.Warning != "" {
			res.Warnings = append(res.Warnings, ef.Warning)
		}
		dir := filepath.Dir(p)
		for _, tag := range ef.Tags {
			k := [2]string{dir, tag}
			i, ok := index[k]
			if !ok {
				i = len(all)
				index[k] = i
				all = append(all, tagged{dir: dir, tag: tag, file: p})
				if !slices.Contains(dirsOf[tag], dir) {
					dirsOf[tag] = append(dirsOf[tag], dir)
				}
			}
			all[i].points = append(all[i].points, ef.Series[tag]...)
		}
	}
	out := make([]namedSeries, 0, len(all))
	for _, t := range all {
		name := t.tag
		if dirs := dirsOf[t.tag]; len(dirs) > 1 {
			if rel, err := filepath.Rel(commonDir(dirs), t.dir); err == nil && rel != "." {
				name = filepath.ToSlash(rel) + "/" + t.tag
			}
		}
		out = append(out, namedSeries{name: name, file: t.file, points: t.points})
	}
	return out
}

// readCSVFiles reads the CSV metric logs; a column found in several is
// prefixed with its file's directory, as event tags are.
func readCSVFiles(paths []string, res *Result) []namedSeries {
	var out []namedSeries
	count := map[string]int{}
	logs := make([]*CSVLog, len(paths))
	for i, p := range paths {
		log, err := ReadCSV(p)
		if err != nil {
			res.Warnings = append(res.Warnings, err.Error())
			continue
		}
		logs[i] = log
		for _, n := range log.Names {
			count[n]++
		}
	}
	var dirs []string
	for i, p := range paths {
		if logs[i] != nil {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	for i, p := range paths {
		if logs[i] == nil {
			continue
		}
		for _, n := range logs[i].Names {
			name := n
			if count[n] > 1 {
				if rel, err := filepath.Rel(commonDir(dirs), filepath.Dir(p)); err == nil && rel != "." {
					name = filepath.ToSlash(rel) + "/" + n
				}
			}
			out = append(out, namedSeries{name: name, file: p, points: logs[i].Series[n]})
		}
	}
	return out
}

// commonDir is the deepest directory holding all of dirs.
func commonDir(dirs []string) string {
	common := dirs[0]
	for _, d := range dirs[1:] {
		for common != "/" && common != "." && d != common && !strings.HasPrefix(d, common+string(filepath.Separator)) {
			common = filepath.Dir(common)
		}
	}
	return common
}

// seriesSet gathers points by step for metrics.jsonl.
type seriesSet struct {
	byStep map[int64]map[string]float64
}

func (s *seriesSet) add(name string, points []Point) {
	if s.byStep == nil {
		s.byStep = map[int64]map[string]float64{}
	}
	for _, p := range points {
		row := s.byStep[p.Step]
		if row == nil {
			row = map[string]float64{}
			s.byStep[p.Step] = row
		}
		row[name] = p.Value
	}
}

// addRows adds the values of rows whose names are in keep.
func (s *seriesSet) addRows(rows []Row, keep map[string]bool) {
	for _, r := range rows {
		for k, v := range r.Values {
			if keep[k] {
				s.add(k, []Point{{r.Step, v}})
			}
		}
	}
}

// rows are the steps in order.
func (s *seriesSet) rows() []Row {
	out := make([]Row, 0, len(s.byStep))
	for step, v := range s.byStep {
		out = append(out, Row{Step: step, Values: v})
	}
	slices.SortFunc(out, func(a, b Row) int { return cmp.Compare(a.Step, b.Step) })
	return out
}

// writeJSONL writes rows as metrics.jsonl lines, names sorted.
func writeJSONL(path string, rows []Row) error {
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, `{"step":%d`, r.Step)
		names := make([]string, 0, len(r.Values))
		for k := range r.Values {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			key, _ := json.Marshal(k)
			val, err := json.Marshal(r.Values[k])
			if err != nil {
				continue // NaN or Inf: not JSON
			}
			fmt.Fprintf(&b, ",%s:%s", key, val)
		}
		b.WriteString("}\n")
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
