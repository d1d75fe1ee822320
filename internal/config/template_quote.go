package config

import (
	"regexp"
	"strings"
)

// quoting is where a placeholder stands, as far as writing its value goes.
type quoting int

const (
	unquoted      quoting = iota // a word, an assignment's value, a redirection's target
	doubleQuoted                 // inside "..."
	singleQuoted                 // inside '...'
	dollarQuoted                 // inside bash's $'...'
	hereDoc                      // in the body of <<EOF (expanded)
	quotedHereDoc                // in the body of <<'EOF' (not expanded)
	arithmetic                   // in $((...)), ((...)), let, or a -eq/-lt... test
)

// quoteFor writes s so that the shell reads it back as s where q says, or
// says why it cannot.
func quoteFor(q quoting, s string) (string, string) {
	switch q {
	case doubleQuoted:
		return escapeDouble(s), ""
	case singleQuoted:
		return strings.ReplaceAll(s, "'", `'\''`), ""
	case dollarQuoted:
		return "", "it stands inside $'...', which bash reads with backslash escapes and /bin/sh (dash) as a $ and a plain quote: no quoting is safe for both; use '...' or \"...\""
	case hereDoc, quotedHereDoc:
		if strings.ContainsAny(s, "\n\r") {
			return "", "its value holds a line break, which in a here-document could end it early and run the rest as commands; pass the value as an argument or through a file"
		}
		if q == quotedHereDoc {
			return s, ""
		}
		return strings.NewReplacer(`\`, `\\`, "$", `\$`, "`", "\\`").Replace(s), ""
	case arithmetic:
		if !numeral.MatchString(s) {
			return "", "it stands in shell arithmetic, which would evaluate its value (" + truncate(s) + ") as an expression; only an integer can go there"
		}
		return s, ""
	}
	return shellQuote(s), ""
}

// numeral is what shell arithmetic may take: an integer (it knows no
// other numbers).
var numeral = regexp.MustCompile(`^[+-]?[0-9]+$`)

// escapeDouble backslash-escapes what is special inside double quotes.
func escapeDouble(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(s)
}

// shellQuote returns s unchanged when the shell reads it as one plain word,
// else wrapped in single quotes, an embedded single quote written as quote,
// backslash, quote, quote.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !shellSafe(r) }) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellSafe are the characters of a word the shell reads as it is. "=" is
// not one: glued to a name before it ("x${v}"), it would turn the word into
// an assignment.
func shellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_@%+:,./-", r)
}

// truncate shortens a value for a message.
func truncate(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// unescapeUnquoted is what the shell makes of an unquoted literal: a
// backslash keeps the next character, a backslash-newline disappears.
func unescapeUnquoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] != '\n' {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unescapeDouble is what the shell makes of a literal inside double quotes:
// a backslash escapes only $ ` " \ and a newline.
func unescapeDouble(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
			i++
			if s[i] != '\n' {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
