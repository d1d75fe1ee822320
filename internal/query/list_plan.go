package query

import (
	"bytes"
	"fmt"
	"strings"
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

type nameSlot struct {
	name   string
	look   lookup
	needle []byte // `"name":`, to notice the name in a line that is not decoded
}

// plan is a compiled Query.
type plan struct {
	q       Query
	limit   int
	conds   []pcond
	slots   []nameSlot
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
	pl.slots = append(pl.slots, nameSlot{name: name, look: look, needle: []byte(`"` + name + `":`)})
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
