package query

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/magelab/magelab/internal/record"
)

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
