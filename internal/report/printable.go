package report

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable is s as a table cell or a line of a listing shows it: tabs and
// line breaks become spaces, and what a terminal would obey rather than
// show — escape sequences (ESC, other control characters), bidirectional
// overrides and zero-width characters, bytes that are not UTF-8 — is
// written as Go escapes (\x1b, \u202e), so that a run's name, param or
// metric cannot repaint the screen or disguise a value.
func Printable(s string) string { return printable(s, false) }

// PrintableText is Printable for lines of text: tabs and line breaks stay.
func PrintableText(s string) string { return printable(s, true) }

func printable(s string, text bool) string {
	if strings.IndexFunc(s, unsafeRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case text && (r == '\t' || r == '\n'):
			b.WriteRune(r)
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

// unsafeRune reports a rune a terminal acts on or that hides text.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
