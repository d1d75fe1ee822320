package query

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/magelab/magelab/internal/record"
)

// field is what a name in -where or -sort refers to.
type field uint8

const (
	fValue field = iota // a metric or a param, by slot
	fStatus
	fExperiment
	fSweep
	fID
	fSHA
	fBranch
	fDirty
	fHost
	fGPU
	fDuration
	fStarted
	fKey
)

// Fields are the names -where and -sort take besides metrics and params.
var fields = map[string]field{
	"status": fStatus, "experiment": fExperiment, "sweep": fSweep, "id": fID,
	"sha": fSHA, "branch": fBranch, "dirty": fDirty, "host": fHost, "gpu": fGPU,
	"duration": fDuration, "started": fStarted, "key": fKey,
}

// lookup says where a value name is looked up.
type lookup uint8

const (
	lookBoth   lookup = iota // metrics, then params
	lookMetric               // "metrics.NAME"
	lookParam                // "params.NAME"
)

// ref is a resolved name.
type ref struct {
	field field
	slot  int // fValue: index into the plan's slots
	look  lookup
}

// final reports whether a pending run's value for r can no longer change:
// lines come newest first, so the first metric value or run.finished read
// is the last one written.
func (r ref) final(p *pend) bool {
	switch r.field {
	case fValue:
		return r.look != lookParam && p.has[r.slot]
	case fStatus, fDuration:
		return p.finished
	case fID:
		return true
	}
	return false
}

type slot struct {
	name   string
	look   lookup
	needle []byte // `"name":`, to notice the name in a line that is not decoded
}

// plan is a compiled Query.
type plan struct {
	q       Query
	limit   int
	conds   []pcond
	slots   []slot
	metrics nameIndex
	params  nameIndex
	sort    ref
	sorted  bool
	desc    bool
	// needDuration: a name refers to the duration, so parse it (numbers
	// cost more to parse than to skip).
	needDuration bool
}

type pcond struct {
	Cond
	ref ref
}

func compile(q Query) (*plan, error) {
	pl := &plan{q: q, limit: max(q.Limit, 0)}
	for _, c := range q.Where {
		if !validOp(c.Op) {
			return nil, &WhereError{Cond: c.Name + c.Op + c.Value, Reason: fmt.Sprintf("has an unknown operator %q (want one of %s)", c.Op, opList)}
		}
		if c.val.kind == kindMissing {
			c.val = typeScalar(c.Value, false)
		}
		pl.conds = append(pl.conds, pcond{Cond: c, ref: pl.resolve(c.Name)})
	}
	if s := strings.TrimSpace(q.Sort); s != "" {
		name := strings.TrimLeft(s, "+-")
		if name == "" {
			return nil, fmt.Errorf("sort %q names nothing (want NAME for ascending, -NAME for descending)", q.Sort)
		}
		pl.sorted, pl.desc, pl.sort = true, s[0] == '-', pl.resolve(name)
	}
	return pl, nil
}

// resolve maps a name to a field or a value slot.
func (pl *plan) resolve(name string) ref {
	if f, ok := fields[name]; ok {
		pl.needDuration = pl.needDuration || f == fDuration
		return ref{field: f}
	}
	look := lookBoth
	if n, ok := strings.CutPrefix(name, "metrics."); ok {
		name, look = n, lookMetric
	} else if n, ok := strings.CutPrefix(name, "params."); ok {
		name, look = n, lookParam
	}
	for i, s := range pl.slots {
		if s.name == name && s.look == look {
			return ref{field: fValue, slot: i, look: look}
		}
	}
	i := len(pl.slots)
	pl.slots = append(pl.slots, slot{name: name, look: look, needle: []byte(`"` + name + `":`)})
	if look != lookParam {
		pl.metrics.add(name, i)
	}
	if look != lookMetric {
		pl.params.add(name, i)
	}
	return ref{field: fValue, slot: i, look: look}
}

// unknownNames warns once for each metric or param name no run had.
func (pl *plan) unknownNames(seen []bool) []string {
	var out []string
	for i, s := range pl.slots {
		if seen[i] {
			continue
		}
		what := map[lookup]string{lookBoth: "a metric or param", lookMetric: "a metric", lookParam: "a param"}[s.look]
		out = append(out, fmt.Sprintf("no run has %s named %q: it matches nothing (runs:show ID lists a run's names)", what, s.name))
	}
	return out
}

// better reports whether a sorts strictly before b. Missing values go last.
func (pl *plan) better(a, b scalar) bool {
	if a.kind == kindMissing {
		return false
	}
	if b.kind == kindMissing {
		return true
	}
	c := cmpScalar(a, b)
	if pl.desc {
		return c > 0
	}
	return c < 0
}

// cmpScalar orders numbers, then text, then bools, then the rest.
func cmpScalar(a, b scalar) int {
	if a.kind != b.kind {
		return int(a.kind) - int(b.kind)
	}
	switch a.kind {
	case kindNum:
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	case kindBool:
		switch {
		case a.b == b.b:
			return 0
		case b.b:
			return -1
		}
		return 1
	}
	return bytes.Compare(a.str, b.str)
}

// own copies the text of s out of the line it aliases.
func (s scalar) own() scalar {
	s.str = bytes.Clone(s.str)
	return s
}

// match tests the condition, where id and sha are matched like short ids:
// id=... by prefix or suffix, sha=... by prefix.
func (c *pcond) match(v scalar) bool {
	if (c.ref.field == fID || c.ref.field == fSHA) && (c.Op == "=" || c.Op == "!=") && v.kind == kindStr {
		w := strings.ToLower(c.Value)
		s := strings.ToLower(string(v.str))
		m := w != "" && (strings.HasPrefix(s, w) || (c.ref.field == fID && strings.HasSuffix(s, w)))
		return m == (c.Op == "=")
	}
	return c.Cond.match(v)
}

// nameIndex finds the slots of a name as it appears in a line. A query
// names few things, so a short list beats hashing every key of a line.
type nameIndex struct {
	names   [][]byte
	needles [][]byte // `"name":`
	slots   [][]int
}

func (x *nameIndex) add(name string, slot int) {
	for i, n := range x.names {
		if string(n) == name {
			x.slots[i] = append(x.slots[i], slot)
			return
		}
	}
	x.names = append(x.names, []byte(name))
	x.needles = append(x.needles, []byte(`"`+name+`":`))
	x.slots = append(x.slots, []int{slot})
}

func (x *nameIndex) find(key []byte) []int {
	for i, n := range x.names {
		if len(n) == len(key) && string(n) == string(key) {
			return x.slots[i]
		}
	}
	return nil
}

// lineVals is what the scanner read from one line. Byte slices alias the
// line.
type lineVals struct {
	id, typ, experiment, sweep, key, host, gpu, sha, branch, status, time []byte
	hasGit, dirty                                                         bool
	pid                                                                   int64
	pidStart                                                              uint64
	duration                                                              float64
	metric                                                                []float64
	hasMetric                                                             []bool
	param                                                                 [][]byte
	hasParam                                                              []bool
	seen                                                                  []bool // per slot, across lines: some line had the name
	unseen                                                                int
}

func (v *lineVals) init(slots int) {
	v.metric, v.hasMetric = make([]float64, slots), make([]bool, slots)
	v.param, v.hasParam = make([][]byte, slots), make([]bool, slots)
	v.seen, v.unseen = make([]bool, slots), slots
}

func (v *lineVals) reset() {
	v.id, v.typ, v.experiment, v.sweep, v.key, v.host, v.gpu = nil, nil, nil, nil, nil, nil, nil
	v.sha, v.branch, v.status, v.time = nil, nil, nil, nil
	v.hasGit, v.dirty, v.pid, v.pidStart, v.duration = false, false, 0, 0, 0
	clear(v.hasMetric)
	clear(v.hasParam)
}

func (v *lineVals) see(slot int) {
	if !v.seen[slot] {
		v.seen[slot] = true
		v.unseen--
	}
}

// glance marks the names a line that is not decoded seems to hold.
func (v *lineVals) glance(pl *plan, line []byte) {
	for i, s := range pl.slots {
		if !v.seen[i] && bytes.Contains(line, s.needle) {
			v.see(i)
		}
	}
}

// parse reads the fields of an event line that queries use.
func (pl *plan) parse(b []byte, v *lineVals) bool {
	s := jscan{b: b}
	ok := s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "run":
			v.id, ok = s.optStr()
		case "type":
			v.typ, ok = s.optStr()
		case "experiment":
			v.experiment, ok = s.optStr()
		case "sweep":
			v.sweep, ok = s.optStr()
		case "key":
			v.key, ok = s.optStr()
		case "host":
			v.host, ok = s.optStr()
		case "gpu":
			v.gpu, ok = s.optStr()
		case "status":
			v.status, ok = s.optStr()
		case "time":
			v.time, ok = s.optStr()
		case "pid":
			v.pid, ok = s.int()
		case "pid_start":
			var n int64
			n, ok = s.int()
			v.pidStart = uint64(n)
		case "duration_s":
			if !pl.needDuration {
				ok = s.skip()
				break
			}
			v.duration, ok = s.float()
		case "git":
			ok = pl.git(&s, v)
		case "params":
			ok = pl.paramsObj(&s, v)
		case "metrics":
			ok = pl.metricsObj(&s, v)
		default:
			ok = s.skip()
		}
		return ok
	})
	return ok && s.end()
}

func (pl *plan) git(s *jscan, v *lineVals) bool {
	if s.null() {
		return true
	}
	v.hasGit = true
	return s.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "sha":
			v.sha, ok = s.optStr()
		case "branch":
			v.branch, ok = s.optStr()
		case "dirty":
			v.dirty, ok = s.bool()
		default:
			ok = s.skip()
		}
		return ok
	})
}

func (pl *plan) paramsObj(s *jscan, v *lineVals) bool {
	if len(pl.params.names) == 0 || s.null() {
		return s.skip()
	}
	if body, end, ok := s.flatObject(); ok {
		for i, needle := range pl.params.needles {
			k := keyIndex(body, needle)
			if k < 0 {
				continue
			}
			sub := jscan{b: body, i: k + len(needle)}
			sub.ws()
			start := sub.i
			if !sub.skip() {
				return false
			}
			for _, slot := range pl.params.slots[i] {
				v.param[slot], v.hasParam[slot] = body[start:sub.i], true
				v.see(slot)
			}
		}
		s.i = end
		return true
	}
	return s.object(func(key []byte) bool {
		slots := pl.params.find(key)
		if slots == nil {
			return s.skip()
		}
		s.ws()
		start := s.i
		if !s.skip() {
			return false
		}
		for _, i := range slots {
			v.param[i], v.hasParam[i] = s.b[start:s.i], true
			v.see(i)
		}
		return true
	})
}

func (pl *plan) metricsObj(s *jscan, v *lineVals) bool {
	if len(pl.metrics.names) == 0 || s.null() {
		return s.skip()
	}
	if body, end, ok := s.flatObject(); ok {
		for i, needle := range pl.metrics.needles {
			if k := keyIndex(body, needle); k >= 0 {
				sub := jscan{b: body, i: k + len(needle)}
				if f, ok := sub.float(); ok { // null, or not a number: as if absent
					for _, slot := range pl.metrics.slots[i] {
						v.metric[slot], v.hasMetric[slot] = f, true
						v.see(slot)
					}
				}
			}
		}
		s.i = end
		return true
	}
	return s.object(func(key []byte) bool {
		slots := pl.metrics.find(key)
		if slots == nil {
			return s.skip()
		}
		f, ok := s.float()
		if !ok { // null, or not a number: as if absent
			return s.skip()
		}
		for _, i := range slots {
			v.metric[i], v.hasMetric[i] = f, true
			v.see(i)
		}
		return true
	})
}

// keyIndex finds needle (`"name":`) as a key of a flat object's body: at
// its start or after a comma. Without escapes in the body every quote is a
// delimiter, so such a match cannot lie inside a string. The search skips
// the needle's quote: quotes are everywhere in JSON, and bytes.Index
// looks for the first byte with IndexByte.
func keyIndex(body, needle []byte) int {
	name := needle[1:]
	for from := 0; ; {
		k := bytes.Index(body[from:], name)
		if k < 0 {
			return -1
		}
		k += from - 1 // at the quote
		if k >= 0 && body[k] == '"' && (k == 0 || body[k-1] == ',') {
			return k
		}
		from = k + 2
	}
}

// row is a run being tested: what its pending entry knows, plus its
// run.started line (nil when that never came).
type row struct {
	id     []byte
	p      *pend
	v      *lineVals
	status record.Status
}

// value is the run's value for r; kindMissing when it has none.
func (r *row) value(f ref, pl *plan) scalar {
	v := r.v
	switch f.field {
	case fValue:
		if f.look != lookParam && r.p.has[f.slot] {
			return scalar{kind: kindNum, num: r.p.metric[f.slot]}
		}
		if f.look != lookMetric && v != nil && v.hasParam[f.slot] {
			return jsonScalar(v.param[f.slot])
		}
	case fStatus:
		switch {
		case r.status != "":
			return textScalar(string(r.status))
		case r.p.finished:
			return textScalar(string(r.p.status))
		}
	case fDuration:
		if r.p.finished {
			return scalar{kind: kindNum, num: r.p.duration}
		}
	case fID:
		return scalar{kind: kindStr, str: r.id}
	}
	if v == nil {
		return scalar{}
	}
	switch f.field {
	case fExperiment:
		return scalar{kind: kindStr, str: v.experiment}
	case fSweep:
		return scalar{kind: kindStr, str: v.sweep}
	case fKey:
		return scalar{kind: kindStr, str: v.key}
	case fHost:
		return scalar{kind: kindStr, str: v.host}
	case fGPU:
		return scalar{kind: kindStr, str: v.gpu}
	case fStarted:
		t, err := time.Parse(time.RFC3339Nano, string(v.time))
		if err != nil {
			return scalar{}
		}
		return textScalar(t.UTC().Format("2006-01-02T15:04:05.000000000Z"))
	}
	if !v.hasGit {
		return scalar{}
	}
	switch f.field {
	case fSHA:
		return scalar{kind: kindStr, str: v.sha}
	case fBranch:
		return scalar{kind: kindStr, str: v.branch}
	case fDirty:
		return scalar{kind: kindBool, b: v.dirty}
	}
	return scalar{}
}

func textScalar(s string) scalar {
	return scalar{kind: kindStr, str: unsafe.Slice(unsafe.StringData(s), len(s))}
}

// jsonScalar types a param's JSON value.
func jsonScalar(raw []byte) scalar {
	if len(raw) == 0 {
		return scalar{}
	}
	switch raw[0] {
	case '"':
		s := jscan{b: raw}
		str, ok := s.str()
		if !ok {
			return scalar{}
		}
		return scalar{kind: kindStr, str: str}
	case 't', 'f':
		return scalar{kind: kindBool, b: raw[0] == 't'}
	case 'n':
		return scalar{kind: kindNull}
	case '[', '{':
		return scalar{kind: kindOther, str: raw}
	}
	f, ok := parseFloat(raw)
	if !ok {
		return scalar{kind: kindOther, str: raw}
	}
	return scalar{kind: kindNum, num: f}
}
