package config

import (
	"path"
	"regexp"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Which arguments of a command a shell or an interpreter reads again as
// code: the script of sh -c (after env, nohup, timeout and the like), eval's
// arguments, trap's action, python -c's code.

// literal is the word's value when it is made of literal parts only.
func (w *walker) literal(word *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, part := range word.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			b.WriteString(unescapeUnquoted(p.Value))
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, dp := range p.Parts {
				lit, ok := dp.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescapeDouble(lit.Value))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// wrappers run the command that follows them (and their own options).
var wrappers = map[string]string{ // name → its options that take a value
	"env": "uSC", "exec": "a", "command": "", "nohup": "", "nice": "n", "setsid": "", "time": "f",
	"timeout": "sk", "stdbuf": "ioe", "sudo": "ugCDhprRTU", "chrt": "", "ionice": "cnp", "taskset": "",
}

// shells read the script after -c; interpreters take code after these flags.
var (
	shells       = map[string]bool{"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true, "mksh": true, "ash": true}
	interpreters = regexp.MustCompile(`^(python[0-9.]*|pypy[0-9.]*|perl|ruby|node|nodejs|Rscript|php|lua[0-9.]*|julia)$`)
	codeFlags    = map[string]string{"python": "c", "pypy": "c", "perl": "eE", "ruby": "e", "node": "ep", "nodejs": "ep", "Rscript": "e", "php": "r", "lua": "e", "julia": "e"}
)

func isShell(prog string) bool { return shells[prog] || prog == "eval" || prog == "trap" }

// reparsed returns the indices of the arguments that the command reads
// again as code, and the program that does.
func (w *walker) reparsed(args []*syntax.Word) ([]int, string) {
	i := w.skipWrappers(args)
	if i >= len(args) {
		return nil, ""
	}
	name := w.progName(args[i])
	if name == "busybox" && i+1 < len(args) {
		i++
		name = w.progName(args[i])
	}
	switch {
	case shells[name]:
		if k := w.shellScript(args, i+1); k >= 0 {
			return []int{k}, name
		}
	case name == "eval":
		var idx []int
		for k := i + 1; k < len(args); k++ {
			idx = append(idx, k)
		}
		return idx, name
	case name == "trap":
		for k := i + 1; k < len(args); k++ {
			if s, _ := w.literal(args[k]); s == "--" || strings.HasPrefix(s, "-") && len(s) > 1 {
				continue
			}
			return []int{k}, name
		}
	case interpreters.MatchString(name):
		family := strings.TrimRight(name, "0123456789.")
		if k := w.interpreterCode(args, i+1, codeFlags[family]); k >= 0 {
			return []int{k}, name + " -" + codeFlags[family][:1]
		}
	}
	return nil, ""
}

// progName is the base name of a command word; the python placeholder
// counts as python.
func (w *walker) progName(word *syntax.Word) string {
	s, ok := w.literal(word)
	if !ok {
		return ""
	}
	for _, i := range w.holesIn(s) {
		if w.t.holes[i].name == "python" && s == w.t.holes[i].sentinel {
			return "python"
		}
	}
	return path.Base(s)
}

// skipWrappers returns the index of the command that env, nohup, timeout
// and the like run.
func (w *walker) skipWrappers(args []*syntax.Word) int {
	i := 0
	for i < len(args) {
		wrapper := w.progName(args[i])
		valued, ok := wrappers[wrapper]
		if !ok {
			return i
		}
		i++
	opts:
		for i < len(args) {
			s, _ := w.literal(args[i])
			switch {
			case s == "--":
				i++
				break opts
			case strings.HasPrefix(s, "-") && len(s) > 1:
				if len(s) == 2 && strings.ContainsRune(valued, rune(s[1])) {
					i++
				}
				i++
			case wrapper == "env" && strings.Contains(s, "="):
				i++
			default:
				if wrapper == "timeout" || wrapper == "taskset" || wrapper == "chrt" {
					i++ // the duration, mask or priority
				}
				break opts
			}
		}
	}
	return i
}

// shellScript returns the index of the script of a shell's -c, or -1.
func (w *walker) shellScript(args []*syntax.Word, from int) int {
	sawC := false
	for k := from; k < len(args); k++ {
		s, _ := w.literal(args[k])
		switch {
		case s == "--" || s == "-":
			if sawC && k+1 < len(args) {
				return k + 1
			}
			return -1
		case s == "-o" || s == "+o" || s == "-O" || s == "+O" || s == "--rcfile" || s == "--init-file":
			k++
		case strings.HasPrefix(s, "--"):
		case len(s) > 1 && s[0] == '-':
			sawC = sawC || strings.ContainsRune(s[1:], 'c')
		case len(s) > 1 && s[0] == '+': // +o, +e ...: options turned off
		default:
			if sawC {
				return k
			}
			return -1
		}
	}
	return -1
}

// interpreterCode returns the index of the code an interpreter runs from
// its command line (python -c CODE, perl -e CODE), or -1 when it runs a
// file. Options end at the first operand.
func (w *walker) interpreterCode(args []*syntax.Word, from int, flags string) int {
	for k := from; k < len(args); k++ {
		s, ok := w.literal(args[k])
		switch {
		case !ok && len(w.holesIn(w.text(args[k]))) == 0:
			return -1
		case s == "-W" || s == "-X" || s == "-I" || s == "-r":
			k++
		case s == "-m" || s == "--" || !strings.HasPrefix(s, "-") || s == "-":
			return -1
		case strings.ContainsRune(flags, rune(s[len(s)-1])) && !strings.HasPrefix(s, "--"):
			return k + 1
		case len(s) > 2 && strings.ContainsRune(flags, rune(s[1])):
			return k
		}
	}
	return -1
}
