package query

import "strconv"

// Eq is the condition name = value with value compared as text: what
// ParseWhere makes of name='value', built without writing and parsing a
// -where string.
func Eq(name, value string) Cond {
	return Cond{Name: name, Op: "=", Value: value, Text: name + "=" + strconv.Quote(value), val: scalar{kind: kindStr, str: []byte(value)}}
}
