package runner

import (
	"bytes"
	"io"
	"sync"
)

// procLineMax is the longest line a PrefixWriter holds back; longer lines
// are written in pieces of this size, each with its own prefix.
const procLineMax = 64 << 10

// PrefixWriter writes each line of its input to another writer with a prefix,
// so that the output of concurrent stages stays readable on one terminal.
//
// Each Write passes every line it completes to the underlying writer in a
// single Write call, and never passes a partial line, so lines from several
// PrefixWriters sharing one writer interleave only as whole lines (as long as
// that writer's Write is itself atomic, as write(2) is for short lines).
//
// A carriage return not followed by a newline also ends a line, and is kept:
// a progress bar that redraws itself with "\r" shows up as prefixed redraws
// of one terminal line. A "\r" that would start an empty line is passed
// through without a prefix, and "\r\n" is kept as one line end.
type PrefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte // the current partial line, at most procLineMax bytes
	cr     bool   // the last byte seen was a line-ending "\r"
}

// NewPrefixWriter returns a PrefixWriter that writes to w, starting each line
// with prefix. It is safe for concurrent use.
func NewPrefixWriter(w io.Writer, prefix string) *PrefixWriter {
	return &PrefixWriter{w: w, prefix: []byte(prefix)}
}

// Write writes the lines that b completes and holds back the rest until a
// later Write or Flush. It consumes all of b and returns the underlying
// writer's error, if any.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	var out []byte
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			out = p.add(out, b)
			break
		}
		out = p.add(out, b[:i])
		out = p.end(out, b[i])
		b = b[i+1:]
	}
	if len(out) == 0 {
		return n, nil
	}
	_, err := p.w.Write(out)
	return n, err
}

// Flush writes the partial line held back, if any, ending it with a newline.
func (p *PrefixWriter) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.w.Write(p.line(nil, '\n'))
	return err
}

// add appends b to the partial line, moving full pieces of an overlong line
// to out.
func (p *PrefixWriter) add(out, b []byte) []byte {
	for len(b) > 0 {
		if len(p.buf) == procLineMax {
			out = p.line(out, '\n')
		}
		k := min(len(b), procLineMax-len(p.buf))
		p.buf = append(p.buf, b[:k]...)
		b = b[k:]
		p.cr = false
	}
	return out
}

// end ends the partial line with term ('\r' or '\n') and appends it to out.
func (p *PrefixWriter) end(out []byte, term byte) []byte {
	wasCR := p.cr
	p.cr = term == '\r'
	switch {
	case len(p.buf) > 0:
		return p.line(out, term)
	case term == '\n' && wasCR: // "\r\n": the line was written at the "\r"
		return append(out, '\n')
	case term == '\r':
		return append(out, '\r')
	}
	return p.line(out, term)
}

// line appends prefix, the partial line and term to out, and empties the
// partial line.
func (p *PrefixWriter) line(out []byte, term byte) []byte {
	out = append(out, p.prefix...)
	out = append(out, p.buf...)
	out = append(out, term)
	p.buf = p.buf[:0]
	p.cr = term == '\r'
	return out
}
