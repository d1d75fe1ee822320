package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// ScriptFiles returns the stage's files, sorted and relative to Root
// (slash-separated): for a script stage the script and every file it imports
// from the project, recursively; for a command stage the files its command
// names (see cmdFiles) and, for .py ones, their project imports.
//
// Imports resolve the way Python would find them with the entry script's
// directory, Root/python and Root on sys.path, in that order: `import a.b` is a/b.py or
// a/b/__init__.py (plus a/__init__.py), `from a import c` also takes a/c.py
// when c is a submodule, and relative imports start from the importing file's
// package. Modules that do not resolve inside Root (the standard library,
// site-packages) are ignored.
func (e *Experiment) ScriptFiles(stage string) ([]string, error) {
	s, ok := e.Stage(stage)
	if !ok {
		return nil, fmt.Errorf("stage %q is not configured in %s", stage, display(e.Root, e.File))
	}
	start := []string{s.Script}
	if s.IsCmd() {
		start = cmdFiles(e.Root, s.Cmd)
	}
	return projectFiles(e.Root, start)
}

// projectFiles walks the import graph from start (paths relative to root)
// and returns every file reached, sorted. A visited set ends import cycles.
func projectFiles(root string, start []string) ([]string, error) {
	seen := map[string]bool{}
	queue := []string{}
	var path []string // sys.path: the entry scripts' directories, python/, root
	for _, s := range start {
		abs := rootJoin(root, s)
		if !seen[abs] {
			seen[abs] = true
			queue = append(queue, abs)
			path = appendNew(path, filepath.Dir(abs))
		}
	}
	path = appendNew(path, filepath.Join(root, "python"))
	path = appendNew(path, root)
	for len(queue) > 0 {
		file := queue[0]
		queue = queue[1:]
		if !strings.HasSuffix(file, ".py") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("scan imports of %s: %w", display(root, file), err)
		}
		for _, imp := range pyImports(string(src)) {
			for _, dep := range resolveImport(root, path, file, imp) {
				if !seen[dep] {
					seen[dep] = true
					queue = append(queue, dep)
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for abs := range seen {
		out = append(out, display(root, abs))
	}
	sort.Strings(out)
	return out, nil
}

// pyImport is one import statement: `from ..a.b import c, d` is
// {level: 2, module: "a.b", names: [c d]}; `import a.b` is {module: "a.b"}.
type pyImport struct {
	level  int
	module string
	names  []string
}

var (
	importRe   = regexp.MustCompile(`^import\s+(.+)$`)
	fromRe     = regexp.MustCompile(`^from\b\s*(\.*)\s*([A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*)?\s*\bimport\b\s*(.+)$`)
	compoundRe = regexp.MustCompile(`^(?:try|else|finally)\s*:\s*(.*)$`)
	inlineRe   = regexp.MustCompile(`^(?:if|elif|except|while|with|for)\b.*?:\s*((?:import|from)\s.*)$`)
	moduleRe   = regexp.MustCompile(`^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$`)
)

// pyImports finds the import statements of a Python source: top level or
// indented (inside try:, if, functions), one per `;`-separated statement,
// with strings and comments removed first so text in them does not count.
func pyImports(src string) []pyImport {
	var out []pyImport
	for _, line := range logicalLines(src) {
		for _, stmt := range strings.Split(line, ";") {
			stmt = strings.TrimSpace(stmt)
			for {
				if m := compoundRe.FindStringSubmatch(stmt); m != nil {
					stmt = m[1]
				} else if m := inlineRe.FindStringSubmatch(stmt); m != nil {
					stmt = m[1]
				} else {
					break
				}
			}
			out = append(out, parseImport(stmt)...)
		}
	}
	return out
}

// parseImport parses one statement; it returns nil for anything else.
func parseImport(stmt string) []pyImport {
	if m := importRe.FindStringSubmatch(stmt); m != nil {
		var out []pyImport
		for _, part := range strings.Split(m[1], ",") {
			if mod := importName(part); moduleRe.MatchString(mod) {
				out = append(out, pyImport{module: mod})
			}
		}
		return out
	}
	m := fromRe.FindStringSubmatch(stmt)
	if m == nil {
		return nil
	}
	imp := pyImport{level: len(m[1]), module: strings.Join(strings.Fields(m[2]), "")}
	if imp.level == 0 && imp.module == "" {
		return nil // `from import x` is not Python
	}
	names := strings.Trim(strings.TrimSpace(m[3]), "()")
	for _, part := range strings.Split(names, ",") {
		if n := importName(part); moduleRe.MatchString(n) && !strings.Contains(n, ".") {
			imp.names = append(imp.names, n)
		}
	}
	return []pyImport{imp}
}

// importName strips whitespace and an `as alias` from one imported name.
func importName(part string) string {
	name, _, _ := strings.Cut(" "+part+" ", " as ")
	return strings.Join(strings.Fields(name), "")
}

// logicalLines splits Python source into logical lines: comments dropped,
// string literals replaced by "", lines inside brackets or after a backslash
// joined.
func logicalLines(src string) []string {
	var lines []string
	var cur strings.Builder
	depth := 0
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'':
			i = skipString(src, i)
			cur.WriteString(`""`)
		case c == '\\' && i+1 < len(src) && src[i+1] == '\n':
			cur.WriteByte(' ')
			i += 2
		case c == '\n':
			if depth > 0 {
				cur.WriteByte(' ')
			} else {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			i++
		default:
			switch c {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth = max(depth-1, 0)
			}
			cur.WriteByte(c)
			i++
		}
	}
	return append(lines, cur.String())
}

// skipString returns the index just past the string literal starting at i
// (single or triple quoted, backslash escapes honoured; an unterminated
// single-quoted string ends at the newline).
func skipString(src string, i int) int {
	q := src[i]
	if strings.HasPrefix(src[i:], strings.Repeat(string(q), 3)) {
		end := string([]byte{q, q, q})
		for j := i + 3; j < len(src); j++ {
			if src[j] == '\\' {
				j++
				continue
			}
			if strings.HasPrefix(src[j:], end) {
				return j + 3
			}
		}
		return len(src)
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(src)
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// resolveImport returns the project files (absolute) an import statement in
// file loads, searching sysPath for absolute imports.
func resolveImport(root string, sysPath []string, file string, imp pyImport) []string {
	var parts []string
	if imp.module != "" {
		parts = strings.Split(imp.module, ".")
	}
	if imp.level > 0 {
		base := filepath.Dir(file)
		for i := 1; i < imp.level; i++ {
			base = filepath.Dir(base)
		}
		if !inside(root, base) {
			return nil // climbed out of the project
		}
		return findImport(base, parts, imp.names)
	}
	if len(parts) == 0 {
		return nil
	}
	for _, base := range sysPath {
		if files := findImport(base, parts, imp.names); files != nil {
			return files
		}
	}
	return nil
}

// findImport resolves module parts (plus from-imported names that are
// submodules) under base; nil when the module is not there.
func findImport(base string, parts, names []string) []string {
	files := []string{}
	dir := base
	for _, p := range parts {
		if init := filepath.Join(dir, "__init__.py"); dir != base && fileExists(init) {
			files = append(files, init)
		}
		dir = filepath.Join(dir, p)
	}
	switch {
	case len(parts) > 0 && fileExists(dir+".py"):
		return append(files, dir+".py")
	case fileExists(filepath.Join(dir, "__init__.py")):
		files = append(files, filepath.Join(dir, "__init__.py"))
	case !isDir(dir):
		return nil
	}
	for _, n := range names {
		if f := filepath.Join(dir, n+".py"); fileExists(f) {
			files = append(files, f)
		} else if f := filepath.Join(dir, n, "__init__.py"); fileExists(f) {
			files = append(files, f)
		}
	}
	return files
}

// inside reports whether p is root or below it.
func inside(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func isDir(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.IsDir()
}
