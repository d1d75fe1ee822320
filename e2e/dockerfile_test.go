package e2e

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	dfparser "github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDockerfileGPU checks Dockerfile.gpu without building it (this machine
// cannot pull base images): it is parsed by BuildKit's own parser, and then
// every file it copies must be in the build context, every magelab target it
// runs must exist, every base image must be pinned (Go's at go.mod's
// version), the default command must be `magelab train`, and the project's
// files must survive .dockerignore. Each check is shown to fail on a broken
// copy. It needs no venv, so it runs under -short too; there the targets come
// from magefiles/*.go instead of the compiled binary's -l.
func TestDockerfileGPU(t *testing.T) {
	root := projectRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "Dockerfile.gpu"))
	require.NoError(t, err)
	env := dockerEnv{
		root:      root,
		ignore:    readDockerignore(t, root),
		project:   projectFiles(t, root),
		targets:   mageTargets(t, root),
		goVersion: goModVersion(t, root),
	}

	valid := env.check(src)
	t.Run("Valid", func(t *testing.T) {
		assert.Empty(t, valid, "Dockerfile.gpu:\n  %s", strings.Join(valid, "\n  "))
	})

	broken := []struct {
		name     string
		old, new string   // Dockerfile.gpu with old replaced by new
		ignore   []string // more .dockerignore lines
		needsGit bool     // the case needs the project's file list
		want     string   // in one of the problems
	}{
		{name: "MissingCopySource", old: "COPY go.mod go.sum ./", new: "COPY go.mod go.sums ./", want: `"go.sums": not in the build context`},
		{name: "CopySourceIgnored", ignore: []string{"go.sum"}, want: `"go.sum": excluded by .dockerignore`},
		{name: "ProjectFileIgnored", needsGit: true, ignore: []string{"python/gpu"}, want: "python/gpu/check_torch.py is excluded by .dockerignore"},
		{name: "UnknownMagelabTarget", old: "&& magelab setup", new: "&& magelab setUp:venv", want: `"setUp:venv" is not a target`},
		{name: "UnknownGoToolMageTarget", old: "&& magelab setup", new: "&& go tool mage -v trian", want: `"trian" is not a target`},
		{name: "EnvBeforeUnknownTarget", old: "&& magelab setup", new: "&& MAGELAB_PYTHON=/opt/conda/bin/python magelab stup", want: `"stup" is not a target`},
		{name: "LatestTag", old: "pytorch/pytorch:2.11.0-cuda12.8-cudnn9-runtime", new: "pytorch/pytorch:latest", want: "pytorch/pytorch:latest: pin a tag"},
		{name: "NoTag", old: "pytorch/pytorch:2.11.0-cuda12.8-cudnn9-runtime", new: "pytorch/pytorch", want: "pytorch/pytorch: pin a tag"},
		{name: "GoVersionDrift", old: "FROM golang:" + env.goVersion + " ", new: "FROM golang:1.25.0 ", want: "golang:1.25.0: tag 1.25.0 does not match go.mod's go " + env.goVersion},
		{name: "DefaultCommandNotTrain", old: `CMD ["magelab", "train"]`, new: `CMD ["magelab", "eval"]`, want: "default command is `magelab eval`"},
		{name: "NoDefaultCommand", old: `CMD ["magelab", "train"]`, new: "", want: "no CMD"},
		{name: "LintWarning", old: " AS go", new: " as go", want: "FromAsCasing"},
		{name: "ParseError", old: "COPY . .", new: "COPY .", want: "parse"},
	}
	for _, tc := range broken {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsGit && len(env.project) == 0 {
				t.Skip("no git file list")
			}
			mutated := src
			if tc.old != "" {
				require.Contains(t, string(src), tc.old, "Dockerfile.gpu no longer contains %q: update this case", tc.old)
				mutated = bytes.Replace(src, []byte(tc.old), []byte(tc.new), 1)
			}
			if len(valid) > 0 {
				t.Skip("Dockerfile.gpu itself has problems (see Valid)")
			}
			e := env
			e.ignore = append(append([]string(nil), env.ignore...), tc.ignore...)
			problems := e.check(mutated)
			p, ok := find(problems, tc.want)
			if assert.True(t, ok, "want a problem containing %q, got:\n  %s", tc.want, strings.Join(problems, "\n  ")) {
				t.Logf("reported: %s", p)
			}
		})
	}
}

// dockerEnv is what Dockerfile.gpu is checked against.
type dockerEnv struct {
	root      string
	ignore    []string        // .dockerignore patterns
	project   []string        // files git would commit, slash-separated
	targets   map[string]bool // lower-cased Mage target names
	goVersion string          // go.mod's go directive
}

// check parses a Dockerfile and returns its problems, each naming the line.
func (e dockerEnv) check(src []byte) []string {
	var problems []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []dfparser.Range) {
		problems = append(problems, fmt.Sprintf("line %d: lint %s: %s", line(loc), rule, msg))
	}})
	res, err := dfparser.Parse(bytes.NewReader(src))
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	for _, w := range res.Warnings {
		problems = append(problems, "parser warning: "+w.Short)
	}
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return append(problems, "parse: "+err.Error())
	}
	pm, err := patternmatcher.New(e.ignore)
	if err != nil {
		return append(problems, ".dockerignore: "+err.Error())
	}
	problems = append(problems, e.checkCopies(stages, pm)...)
	problems = append(problems, e.checkProjectKept(pm)...)
	problems = append(problems, e.checkTargets(stages)...)
	problems = append(problems, e.checkPinned(stages)...)
	return append(problems, checkDefaultCommand(stages)...)
}

// checkCopies: every COPY/ADD source from the build context exists and is
// not excluded by .dockerignore (COPY --from sources are other images).
func (e dockerEnv) checkCopies(stages []instructions.Stage, pm *patternmatcher.PatternMatcher) []string {
	var problems []string
	for _, s := range stages {
		for _, c := range s.Commands {
			var sources []string
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					continue
				}
				sources = c.SourcePaths
			case *instructions.AddCommand:
				sources = c.SourcePaths
			default:
				continue
			}
			for _, src := range sources {
				if msg := e.checkSource(src, pm); msg != "" {
					problems = append(problems, fmt.Sprintf("line %d: %s %q: %s", line(c.Location()), strings.ToUpper(c.Name()), src, msg))
				}
			}
		}
	}
	return problems
}

func (e dockerEnv) checkSource(src string, pm *patternmatcher.PatternMatcher) string {
	if strings.Contains(src, "$") || strings.Contains(src, "://") {
		return "not a literal path in the build context"
	}
	matches, err := filepath.Glob(filepath.Join(e.root, filepath.FromSlash(src)))
	if err != nil || len(matches) == 0 {
		return "not in the build context (no such file in the repository)"
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(e.root, m)
		if rel == "." {
			continue
		}
		if excluded, _ := pm.MatchesOrParentMatches(filepath.ToSlash(rel)); excluded {
			return "excluded by .dockerignore"
		}
	}
	return ""
}

// checkProjectKept: .dockerignore drops no file of the project, since the
// image runs the same targets on the same code.
func (e dockerEnv) checkProjectKept(pm *patternmatcher.PatternMatcher) []string {
	var problems []string
	for _, f := range e.project {
		if excluded, _ := pm.MatchesOrParentMatches(f); excluded {
			problems = append(problems, fmt.Sprintf("project file %s is excluded by .dockerignore", f))
		}
	}
	return problems
}

// checkTargets: every `magelab TARGET` and `go tool mage TARGET` in RUN,
// CMD and ENTRYPOINT names a real target.
func (e dockerEnv) checkTargets(stages []instructions.Stage) []string {
	var problems []string
	for _, s := range stages {
		for _, c := range s.Commands {
			cl, ok := cmdLine(c)
			if !ok {
				continue
			}
			for _, words := range simpleCommands(cl) {
				tool, target := mageInvocation(words)
				if target != "" && !e.targets[strings.ToLower(target)] {
					problems = append(problems, fmt.Sprintf("line %d: %s %s: %q is not a target (have %s)",
						line(c.Location()), strings.ToUpper(c.Name()), tool, target, strings.Join(sortedKeys(e.targets), ", ")))
				}
			}
		}
	}
	return problems
}

// checkPinned: every base image (FROM, COPY --from=IMAGE) has a tag other
// than latest, or a digest; golang's tag is go.mod's go version.
func (e dockerEnv) checkPinned(stages []instructions.Stage) []string {
	var problems []string
	named := map[string]bool{}
	check := func(ref string, loc []dfparser.Range) {
		if named[strings.ToLower(ref)] || ref == "scratch" {
			return
		}
		if msg := e.pinProblem(ref); msg != "" {
			problems = append(problems, fmt.Sprintf("line %d: %s: %s", line(loc), ref, msg))
		}
	}
	for i, s := range stages {
		check(s.BaseName, s.Location)
		for _, c := range s.Commands {
			if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" && !isIndex(cp.From, i) {
				check(cp.From, cp.Location())
			}
		}
		if s.Name != "" {
			named[strings.ToLower(s.Name)] = true
		}
	}
	return problems
}

func (e dockerEnv) pinProblem(ref string) string {
	if strings.Contains(ref, "$") {
		return "write the image out, not a build arg, so that the pin is visible"
	}
	if strings.Contains(ref, "@sha256:") {
		return ""
	}
	name, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	if tag == "" || tag == "latest" {
		return "pin a tag (or a digest), not latest"
	}
	if path.Base(name) == "golang" && tag != e.goVersion && !strings.HasPrefix(tag, e.goVersion+"-") {
		return fmt.Sprintf("tag %s does not match go.mod's go %s", tag, e.goVersion)
	}
	return ""
}

// checkDefaultCommand: the final stage's ENTRYPOINT and CMD together run
// `magelab train`.
func checkDefaultCommand(stages []instructions.Stage) []string {
	if len(stages) == 0 {
		return []string{"no FROM"}
	}
	var entry, cmd []string
	var hasCmd bool
	for _, c := range stages[len(stages)-1].Commands {
		switch c := c.(type) {
		case *instructions.EntrypointCommand:
			entry = firstCommand(c.ShellDependantCmdLine)
		case *instructions.CmdCommand:
			cmd, hasCmd = firstCommand(c.ShellDependantCmdLine), true
		}
	}
	if !hasCmd && entry == nil {
		return []string{"no CMD: the image's default command must be `magelab train`"}
	}
	words := append(append([]string(nil), entry...), cmd...)
	if tool, target := mageInvocation(words); tool != "magelab" || target != "train" {
		return []string{fmt.Sprintf("default command is `%s`, want `magelab train`", strings.Join(words, " "))}
	}
	return nil
}

// cmdLine is the command line of a RUN, CMD or ENTRYPOINT.
func cmdLine(c instructions.Command) (instructions.ShellDependantCmdLine, bool) {
	switch c := c.(type) {
	case *instructions.RunCommand:
		return c.ShellDependantCmdLine, true
	case *instructions.CmdCommand:
		return c.ShellDependantCmdLine, true
	case *instructions.EntrypointCommand:
		return c.ShellDependantCmdLine, true
	}
	return instructions.ShellDependantCmdLine{}, false
}

var (
	shellSeparator = regexp.MustCompile(`&&|\|\||[;|&\n()]`)
	envAssignment  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// simpleCommands splits a command line into simple commands' words: exec
// form is one command; shell form is split at ; && || | & and newlines, and
// leading VAR=value words are dropped. Quotes are stripped, not parsed: the
// Dockerfile's commands are simple.
func simpleCommands(cl instructions.ShellDependantCmdLine) [][]string {
	if !cl.PrependShell {
		return [][]string{cl.CmdLine}
	}
	var out [][]string
	for _, part := range shellSeparator.Split(strings.Join(cl.CmdLine, " "), -1) {
		words := strings.Fields(part)
		for len(words) > 0 && (envAssignment.MatchString(words[0]) || words[0] == "exec" || words[0] == "env") {
			words = words[1:]
		}
		for i, w := range words {
			words[i] = strings.Trim(w, `"'`)
		}
		if len(words) > 0 {
			out = append(out, words)
		}
	}
	return out
}

func firstCommand(cl instructions.ShellDependantCmdLine) []string {
	if cmds := simpleCommands(cl); len(cmds) > 0 {
		return cmds[0]
	}
	return []string{}
}

// mageValueFlags are Mage's flags that take the next word as their value.
var mageValueFlags = map[string]bool{"-compile": true, "-d": true, "-w": true, "-gocmd": true,
	"-goos": true, "-goarch": true, "-ldflags": true, "-t": true}

// mageInvocation returns the tool ("magelab", "go tool mage") and the target
// a simple command runs; target is "" when it runs none (-l, -compile ...)
// or is no magelab command at all.
func mageInvocation(words []string) (tool, target string) {
	var args []string
	switch {
	case len(words) > 0 && path.Base(words[0]) == "magelab":
		tool, args = "magelab", words[1:]
	case len(words) >= 3 && words[0] == "go" && words[1] == "tool" && words[2] == "mage":
		tool, args = "go tool mage", words[3:]
	default:
		return "", ""
	}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case mageValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return tool, a
		}
	}
	return tool, ""
}

// mageTargets lists the targets: from the binary TestMain compiled (what
// the image compiles too), or under -short from magefiles/*.go.
func mageTargets(t *testing.T, root string) map[string]bool {
	t.Helper()
	if magelabBin == "" {
		return parseMagefiles(t, filepath.Join(root, "magefiles"))
	}
	out, err := exec.Command(magelabBin, "-l").CombinedOutput()
	require.NoError(t, err, "magelab -l: %v\n%s", err, out)
	targets := map[string]bool{}
	_, list, _ := strings.Cut(string(out), "Targets:\n")
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(l, "  ") {
			targets[strings.ToLower(strings.TrimSuffix(f[0], "*"))] = true
		}
	}
	require.NotEmpty(t, targets, "magelab -l listed no targets:\n%s", out)
	return targets
}

// parseMagefiles finds Mage's targets the way it does: exported functions,
// and exported methods of types declared as mg.Namespace (ns:method).
func parseMagefiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	namespaces := map[string]bool{}
	var funcs []*ast.FuncDecl
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				funcs = append(funcs, d)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && isNamespace(ts.Type) {
						namespaces[ts.Name.Name] = true
					}
				}
			}
		}
	}
	targets := map[string]bool{}
	for _, fn := range funcs {
		if !fn.Name.IsExported() {
			continue
		}
		if fn.Recv == nil {
			targets[strings.ToLower(fn.Name.Name)] = true
		} else if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok && namespaces[id.Name] {
			targets[strings.ToLower(id.Name+":"+fn.Name.Name)] = true
		}
	}
	require.NotEmpty(t, targets, "no targets in %s", dir)
	return targets
}

func isNamespace(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Namespace"
}

func projectRoot(t *testing.T) string {
	t.Helper()
	if repoRoot != "" {
		return repoRoot
	}
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Dir(wd)
}

func readDockerignore(t *testing.T, root string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	require.NoError(t, err, ".dockerignore: %v", err)
	return patterns
}

// projectFiles lists the files git would commit (tracked, and untracked but
// not ignored); none when git or the repository is not there.
func projectFiles(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard", "-z").Output()
	if err != nil {
		t.Logf("git ls-files: %v: not checking that .dockerignore keeps the project's files", err)
		return nil
	}
	var files []string
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if _, err := os.Lstat(filepath.Join(root, f)); f != "" && err == nil {
			files = append(files, f)
		}
	}
	return files
}

var goDirective = regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`)

func goModVersion(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	m := goDirective.FindSubmatch(b)
	require.NotNil(t, m, "go.mod has no go directive")
	return string(m[1])
}

func line(loc []dfparser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// isIndex reports whether COPY --from names an earlier stage by its index.
func isIndex(from string, stage int) bool {
	n, err := strconv.Atoi(from)
	return err == nil && n >= 0 && n < stage
}

// find returns the first problem containing want.
func find(problems []string, want string) (string, bool) {
	for _, p := range problems {
		if strings.Contains(p, want) {
			return p, true
		}
	}
	return "", false
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
