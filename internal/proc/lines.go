package proc

import "bytes"

// LineWriter is an io.Writer that hands each complete line written to it,
// without its newline, to a function; Flush hands over a last line that
// has no newline. Run flushes a Command's Output that is a LineWriter once
// the output ends.
type LineWriter struct {
	fn      func(line string)
	partial []byte
}

// maxLine bounds a line kept whole: a longer one is handed over in pieces.
const maxLine = 1 << 20

// NewLineWriter returns a LineWriter that calls fn with each line.
func NewLineWriter(fn func(line string)) *LineWriter { return &LineWriter{fn: fn} }

// Write hands over the complete lines in b and keeps the rest.
func (w *LineWriter) Write(b []byte) (int, error) {
	n := len(b)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		w.partial = append(w.partial, b[:i]...)
		w.fn(string(w.partial))
		w.partial, b = w.partial[:0], b[i+1:]
	}
	w.partial = append(w.partial, b...)
	if len(w.partial) >= maxLine {
		w.Flush()
	}
	return n, nil
}

// Flush hands over what is left of a line.
func (w *LineWriter) Flush() error {
	if len(w.partial) > 0 {
		w.fn(string(w.partial))
		w.partial = w.partial[:0]
	}
	return nil
}
