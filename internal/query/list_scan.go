package query

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unsafe"
)

// jscan is a cursor over one ledger line that reads the fields a query
// needs and skips the rest without decoding them: a listing of a million
// runs cannot afford encoding/json's reflection and maps (~150 MB/s), and
// most of each line (the other params and metrics) is never looked at.
// It checks the structure it walks, so a torn line is reported, but it is
// lenient about what it skips (escapes, UTF-8): the few lines a query
// returns are decoded again with encoding/json.
type jscan struct {
	b     []byte
	i     int
	depth int
}

const maxDepth = 512

func (s *jscan) ws() {
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// consume skips space and then c, reporting whether c was there.
func (s *jscan) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// rawStr skips a string and returns its content as written (escapes kept).
// Keys and values are short, so a plain loop beats IndexByte's setup.
func (s *jscan) rawStr() (raw []byte, escaped, ok bool) {
	s.ws()
	b := s.b
	if s.i >= len(b) || b[s.i] != '"' {
		return nil, false, false
	}
	start := s.i + 1
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '"':
			s.i = i + 1
			return b[start:i], escaped, true
		case '\\':
			escaped = true
			i++
		}
	}
	return nil, false, false
}

// str reads a string, unescaped (the result aliases the line unless it had
// escapes).
func (s *jscan) str() ([]byte, bool) {
	start := s.i
	raw, escaped, ok := s.rawStr()
	if !ok || !escaped {
		return raw, ok
	}
	return unescape(s.b[start:s.i])
}

func unescape(quoted []byte) ([]byte, bool) {
	var v string
	if err := json.Unmarshal(bytes.TrimSpace(quoted), &v); err != nil {
		return nil, false
	}
	return []byte(v), true
}

// numChar marks the bytes a JSON number is made of.
var numChar = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true,
	'7': true, '8': true, '9': true, '-': true, '+': true, '.': true, 'e': true, 'E': true}

// num reads a number's text.
func (s *jscan) num() ([]byte, bool) {
	s.ws()
	start, i, b := s.i, s.i, s.b
	for i < len(b) && numChar[b[i]] {
		i++
	}
	s.i = i
	return b[start:i], i > start
}

// float reads a number.
func (s *jscan) float() (float64, bool) {
	b, ok := s.num()
	if !ok {
		return 0, false
	}
	return parseFloat(b)
}

// parseFloat parses b without copying it: strconv keeps its argument only
// in the error, which is dropped here.
func parseFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return f, err == nil
}

func (s *jscan) int() (int64, bool) {
	b, ok := s.num()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
	return n, err == nil
}

func (s *jscan) bool() (v, ok bool) {
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return true, true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return false, true
	}
	return false, false
}

// skip skips one value of any kind. Objects and arrays are skipped by
// matching brackets outside strings, which is what tells a torn line from
// a whole one, without looking at their keys and values.
func (s *jscan) skip() bool {
	s.ws()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, _, ok := s.rawStr()
		return ok
	case '{', '[':
		return s.skipNested()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		_, ok := s.num()
		return ok
	}
}

func (s *jscan) skipNested() bool {
	depth := 0
	b := s.b
	for i := s.i; i < len(b); i++ {
		switch b[i] {
		case '"':
			s.i = i
			if _, _, ok := s.rawStr(); !ok {
				return false
			}
			i = s.i - 1
		case '{', '[':
			if depth++; depth > maxDepth {
				return false
			}
		case '}', ']':
			if depth--; depth == 0 {
				s.i = i + 1
				return true
			}
		}
	}
	return false
}

func (s *jscan) literal(word string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return false
	}
	s.i += len(word)
	return true
}

// object walks an object, calling field for each key with the cursor on its
// value; field reads or skips the value.
func (s *jscan) object(field func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.depth++; s.depth > maxDepth {
		return false
	}
	defer func() { s.depth-- }()
	if s.consume('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.consume(':') || !field(key) {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

// end reports whether only space is left.
func (s *jscan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// peekRun returns the run id and event type of a line written by Append,
// which puts "run" first and "type" second, without scanning the rest; ok
// is false for a line of another shape, which must then be scanned.
func peekRun(line []byte) (id, typ []byte, ok bool) {
	const head = `{"run":"`
	if !bytes.HasPrefix(line, []byte(head)) {
		return nil, nil, false
	}
	rest := line[len(head):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, nil, false
	}
	id = rest[:end]
	const mid = `","type":"`
	rest = rest[end:]
	if !bytes.HasPrefix(rest, []byte(mid)) {
		return id, nil, true
	}
	rest = rest[len(mid):]
	end = bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return id, nil, true
	}
	return id, rest[:end], true
}

// null consumes a null, reporting whether there was one.
func (s *jscan) null() bool {
	s.ws()
	return s.literal("null")
}

// optStr reads a string, or null as nil.
func (s *jscan) optStr() ([]byte, bool) {
	if s.null() {
		return nil, true
	}
	return s.str()
}

// flatObject finds the end of the object at the cursor with vectorised
// searches instead of walking it, when it is flat and plain: no nested
// object or array, no escape, so that every quote is a string delimiter and
// the first '}' outside strings ends it. body is what lies between the
// braces; ok is false when the object must be walked instead. Ledger
// metrics (and params, mostly) are such objects, written by encoding/json
// without spaces.
func (s *jscan) flatObject() (body []byte, end int, ok bool) {
	s.ws()
	b := s.b
	if s.i >= len(b) || b[s.i] != '{' {
		return nil, 0, false
	}
	rest := b[s.i+1:]
	j := bytes.IndexByte(rest, '}')
	if j < 0 {
		return nil, 0, false
	}
	body = rest[:j]
	if bytes.IndexByte(body, '\\') >= 0 || bytes.IndexByte(body, '{') >= 0 || bytes.IndexByte(body, '[') >= 0 ||
		bytes.Count(body, []byte{'"'})%2 != 0 {
		return nil, 0, false
	}
	return body, s.i + 1 + j + 1, true
}
