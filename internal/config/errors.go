package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// Pos is a position in an experiment file. File is the path shown to the user
// (relative to the project root when the file is inside it); Line and Col are
// 1-based and 0 when unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String formats the position as file:line:col, leaving out what is unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Error is a configuration error at a position in an experiment file; its
// message says which field is at fault and what to do. Err, when set, is the
// underlying cause (a YAML parser error, a file system error).
type Error struct {
	Pos Pos
	Msg string
	Err error
}

// Error prints the error as `file:line:col: msg`.
func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// maxErrors bounds how many errors one load reports: past it the rest are
// mostly consequences of the first ones.
const maxErrors = 10

// errList collects positioned errors so one load reports every independent
// mistake, in file order.
type errList struct {
	list  []*Error
	extra int
}

func (l *errList) add(e *Error) {
	if len(l.list) >= maxErrors {
		l.extra++
		return
	}
	l.list = append(l.list, e)
}

func (l *errList) empty() bool { return len(l.list) == 0 }

// err returns nil, the single error, or all of them joined (errors.As still
// finds the first *Error).
func (l *errList) err() error {
	switch len(l.list) {
	case 0:
		return nil
	case 1:
		return l.list[0]
	}
	sort.SliceStable(l.list, func(i, j int) bool {
		a, b := l.list[i].Pos, l.list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	errs := make([]error, 0, len(l.list)+1)
	for _, e := range l.list {
		errs = append(errs, e)
	}
	if l.extra > 0 {
		errs = append(errs, fmt.Errorf("(and %d more errors)", l.extra))
	}
	return errors.Join(errs...)
}
