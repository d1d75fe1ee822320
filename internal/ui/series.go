package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// column is one metric's points: steps and values (NaN for a null, a
// diverged loss written by lab.log).
type column struct {
	x, y []float64
}

// seriesFile is a metrics.jsonl ({"step": n, "name": value, ...} a line)
// as far as it has been read. A file that grows is read from where the
// last read stopped, so a live run costs only its new lines; one that
// shrank or was replaced is read again from the start.
type seriesFile struct {
	mu    sync.Mutex
	off   int64 // bytes consumed: up to the end of the last complete line
	mod   time.Time
	lines int
	names []string // in the order first seen
	cols  map[string]*column
	// interned are the names seen, reused rather than allocated per line.
	interned []string
}

// read brings f up to date with the file at path, which it reads through
// open (the run's os.Root).
func (f *seriesFile) read(open func() (fs.File, error)) error {
	file, err := open()
	if errors.Is(err, fs.ErrNotExist) {
		f.reset()
		return nil
	}
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	if st.Size() < f.off || st.ModTime().Before(f.mod) {
		f.reset() // truncated or replaced
	}
	if st.Size() == f.off {
		return nil
	}
	rs, ok := file.(io.ReadSeeker)
	if !ok {
		return errors.New("metrics file is not seekable")
	}
	if _, err := rs.Seek(f.off, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(rs, st.Size()-f.off))
	if err != nil {
		return err
	}
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return nil // a line still being written
	}
	f.parse(b[:end+1])
	f.off += int64(end + 1)
	f.mod = st.ModTime()
	return nil
}

func (f *seriesFile) reset() {
	f.off, f.lines, f.names, f.cols, f.mod = 0, 0, nil, nil, time.Time{}
}

// parse reads complete lines.
func (f *seriesFile) parse(b []byte) {
	if f.cols == nil {
		f.cols = map[string]*column{}
	}
	var kv []pair
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b[:i]
		b = b[i+1:]
		var ok bool
		if kv, ok = f.scanFlat(line, kv[:0]); !ok {
			if kv, ok = decodeFlat(line, kv[:0]); !ok {
				continue // not a metrics line: skipped, like the ledger's torn lines
			}
		}
		step := float64(f.lines)
		for _, p := range kv {
			if p.name == "step" && !math.IsNaN(p.v) {
				step = p.v
			}
		}
		f.lines++
		for _, p := range kv {
			if p.name == "step" {
				continue
			}
			c := f.cols[p.name]
			if c == nil {
				c = &column{}
				f.cols[p.name] = c
				f.names = append(f.names, p.name)
			}
			c.x, c.y = append(c.x, step), append(c.y, p.v)
		}
	}
}

// intern returns name as a string, the same one each time: a metrics file
// repeats a handful of names on every line.
func (f *seriesFile) intern(name []byte) string {
	for _, n := range f.interned {
		if n == string(name) {
			return n
		}
	}
	n := string(name)
	if len(f.interned) < 64 {
		f.interned = append(f.interned, n)
	}
	return n
}

// pair is one number of a metrics line.
type pair struct {
	name string
	v    float64
}

// scanFlat reads a flat JSON object of numbers and nulls (what lab.log
// writes) without a general decoder; anything else (escapes in a name,
// nested values) is left to decodeFlat. Strings and booleans are skipped:
// they are not metrics.
func (f *seriesFile) scanFlat(b []byte, kv []pair) ([]pair, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return kv, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return kv, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return kv, false
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 || bytes.IndexByte(b[i+1:i+1+j], '\\') >= 0 {
			return kv, false
		}
		name := f.intern(b[i+1 : i+1+j])
		i = skipSpace(b, i+2+j)
		if i >= len(b) || b[i] != ':' {
			return kv, false
		}
		i = skipSpace(b, i+1)
		k := i
		for k < len(b) && b[k] != ',' && b[k] != '}' && b[k] != ' ' && b[k] != '\t' && b[k] != '\r' {
			k++
		}
		val := b[i:k]
		switch {
		case string(val) == "null":
			kv = append(kv, pair{name, math.NaN()})
		case string(val) == "true" || string(val) == "false":
		case len(val) > 0 && (val[0] == '-' || (val[0] >= '0' && val[0] <= '9')):
			// The string shares val's bytes and does not outlive the call
			// (ParseFloat keeps it only in an error, dropped here).
			v, err := strconv.ParseFloat(unsafe.String(&val[0], len(val)), 64)
			if err != nil {
				return kv, false
			}
			kv = append(kv, pair{name, v})
		default:
			return kv, false
		}
		i = skipSpace(b, k)
		if i >= len(b) {
			return kv, false
		}
		if b[i] == '}' {
			return kv, true
		}
		if b[i] != ',' {
			return kv, false
		}
		i = skipSpace(b, i+1)
	}
	return kv, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// decodeFlat is scanFlat for the lines it leaves: a general decoder, the
// numbers and nulls of the top level kept.
func decodeFlat(b []byte, kv []pair) ([]pair, bool) {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return kv, false
	}
	for k, v := range m {
		switch x := v.(type) {
		case float64:
			kv = append(kv, pair{k, x})
		case nil:
			kv = append(kv, pair{k, math.NaN()})
		}
	}
	return kv, true
}

// snapshot is a copy of the columns asked for (all when names is empty),
// safe to use after f is unlocked: the slices only grow, so a prefix of
// them never changes.
func (f *seriesFile) snapshot(names []string) ([]string, map[string]column) {
	if len(names) == 0 {
		names = f.names
	}
	out := map[string]column{}
	var kept []string
	for _, n := range names {
		if c, ok := f.cols[n]; ok {
			out[n] = column{x: c.x[:len(c.x):len(c.x)], y: c.y[:len(c.y):len(c.y)]}
			kept = append(kept, n)
		}
	}
	return kept, out
}

// seriesCache holds the metrics files read lately, by path.
type seriesCache struct {
	mu    sync.Mutex
	files map[string]*cacheEntry
	max   int
}

type cacheEntry struct {
	f    *seriesFile
	used time.Time
}

func newSeriesCache(max int) *seriesCache {
	return &seriesCache{files: map[string]*cacheEntry{}, max: max}
}

// get returns the cached file for path (locked: the caller unlocks it),
// evicting the least recently used past max.
func (c *seriesCache) get(path string) *seriesFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.files[path]
	if e == nil {
		if len(c.files) >= c.max {
			var oldest string
			for p, x := range c.files {
				if oldest == "" || x.used.Before(c.files[oldest].used) {
					oldest = p
				}
			}
			delete(c.files, oldest)
		}
		e = &cacheEntry{f: &seriesFile{}}
		c.files[path] = e
	}
	e.used = time.Now()
	e.f.mu.Lock()
	return e.f
}

// openIn opens name inside root as an fs.File.
func openIn(root *os.Root, name string) func() (fs.File, error) {
	return func() (fs.File, error) { return root.Open(name) }
}
