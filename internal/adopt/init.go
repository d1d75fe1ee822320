package adopt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/magelab/magelab/internal/config"
)

// Options say what init reads.
type Options struct {
	Root   string // the repository's root
	Script string // the training script, relative to Root or absolute; "" looks for train.py
	// Python runs the options helper: MAGELAB_PYTHON, else the project's
	// .venv when it exists, else python3 on PATH.
	Python string
}

// ExperimentPath is the experiment init writes, relative to the root: the
// one `go tool mage train` runs without -exp.
const ExperimentPath = "experiments/default.yaml"

// scriptGuesses are where init looks for a training script without -script.
var scriptGuesses = []string{"train.py", "python/train.py", "src/train.py", "scripts/train.py"}

// Init sets magelab up in the repository at o.Root: experiments/, the
// .gitignore block and a first experiment. It never overwrites a file: what
// exists is left as it is and said so. The experiment is checked to load
// before it is put in place, so a failure leaves no half-written file.
func Init(ctx context.Context, o Options, out io.Writer) error {
	script, err := findScript(o.Root, o.Script)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(o.Root, "experiments"), 0o755); err != nil {
		return err
	}
	wrote, err := addGitignore(o.Root)
	if err != nil {
		return fmt.Errorf("init: .gitignore: %w", err)
	}
	if wrote {
		fmt.Fprintln(out, "init: .gitignore: added magelab's block (runs/, .magelab/, venvs, .env*)")
	} else {
		fmt.Fprintln(out, "init: .gitignore: magelab's block is already there")
	}
	target := filepath.Join(o.Root, filepath.FromSlash(ExperimentPath))
	if _, err := os.Stat(target); err == nil {
		fmt.Fprintf(out, "init: %s exists: left as it is (move it away to write a new one)\n", ExperimentPath)
		return nil
	}
	f, err := experimentFor(ctx, o, script)
	if err != nil {
		return err
	}
	if err := writeChecked(o.Root, target, f.YAML()); err != nil {
		return err
	}
	describeWritten(out, f)
	return nil
}

// findScript resolves -script, or the one training script found where
// they usually are; "" when there is none.
func findScript(root, script string) (string, error) {
	if script != "" {
		abs := script
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(root, script)
		}
		info, err := os.Stat(abs)
		if err != nil || !info.Mode().IsRegular() {
			return "", fmt.Errorf("init: -script=%s: no such file under %s", script, root)
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return "", fmt.Errorf("init: -script=%s is outside the repository %s: the experiment runs scripts of the repository", script, root)
		}
		return filepath.ToSlash(rel), nil
	}
	for _, s := range scriptGuesses {
		if info, err := os.Stat(filepath.Join(root, s)); err == nil && info.Mode().IsRegular() {
			return s, nil
		}
	}
	return "", nil
}

// experimentFor reads the script's options and what the repository has.
func experimentFor(ctx context.Context, o Options, script string) (ExperimentFile, error) {
	f := ExperimentFile{Name: filepath.Base(o.Root), Script: script, Requirements: requirements(o.Root)}
	if script == "" {
		f.Script = "train.py"
		return f, nil
	}
	f.Name = strings.TrimSuffix(filepath.Base(script), ".py")
	p, err := ReadOptions(ctx, python(o), filepath.Join(o.Root, filepath.FromSlash(script)))
	if err != nil {
		return f, err
	}
	f.Parser = p
	f.Deps = dataFiles(o.Root, script, p)
	return f, nil
}

// python is the interpreter that runs the options helper.
func python(o Options) string {
	if o.Python != "" {
		return o.Python
	}
	venv := filepath.Join(o.Root, ".venv", "bin", "python")
	if _, err := os.Stat(venv); err == nil {
		return venv
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	return "python"
}

// requirements are the requirements files at the root.
func requirements(root string) []string {
	m, _ := filepath.Glob(filepath.Join(root, "requirements*.txt"))
	var out []string
	for _, p := range m {
		name := filepath.Base(p)
		if !strings.Contains(name, "dev") && !strings.Contains(name, "test") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// dataFiles are the existing files the options' string defaults name
// (relative to the root, where the command runs): they become deps.
func dataFiles(root, script string, p *Parser) []string {
	var out []string
	for _, a := range args(p) {
		if a.Skip != "" || a.Value == "" || outDirKey.MatchString(a.Key) {
			continue
		}
		s, ok := stringDefault(a.Opt)
		if !ok || s == "" || filepath.IsAbs(s) || s == script {
			continue
		}
		if info, err := os.Stat(filepath.Join(root, s)); err == nil && info.Mode().IsRegular() && !slices.Contains(out, s) {
			out = append(out, filepath.ToSlash(filepath.Clean(s)))
		}
	}
	return out
}

func stringDefault(o Option) (string, bool) {
	if len(o.Default) < 2 || o.Default[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(o.Default, &s) == nil
}

// writeChecked writes text to a temporary file beside target and loads it
// as an experiment; only then is target created, never over a file that
// appeared meanwhile.
func writeChecked(root, target, text string) error {
	tmp := target + ".init-tmp.yaml"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	_, err := config.Load(root, tmp)
	os.Remove(tmp)
	if err != nil {
		return fmt.Errorf("init: the experiment written for this script does not load (a bug of init: please report it with the script's add_argument calls):\n%w", err)
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("init: %s appeared while init ran: left as it is", target)
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(target)
		return err
	}
	return f.Close()
}

// describeWritten says what init wrote and what to run next.
func describeWritten(out io.Writer, f ExperimentFile) {
	if f.Parser == nil {
		fmt.Fprintf(out, "init: wrote %s with a placeholder command (no -script given and no train.py found): edit its stages.train.cmd\n", ExperimentPath)
		return
	}
	passed, skipped := 0, 0
	for _, a := range args(f.Parser) {
		if a.Skip != "" {
			skipped++
		} else {
			passed++
		}
	}
	fmt.Fprintf(out, "init: wrote %s: %s with %d of its %d options passed from params", ExperimentPath, f.Script, passed, len(f.Parser.Options))
	if skipped+len(f.Parser.Skipped) > 0 {
		fmt.Fprintf(out, " (%d left out: see the file's first lines)", skipped+len(f.Parser.Skipped))
	}
	fmt.Fprintln(out)
	if len(f.Requirements) == 0 {
		fmt.Fprintln(out, "init: no requirements*.txt at the root: add requirements: to the experiment for the venv's packages")
	}
	if a, ok := exampleParam(args(f.Parser)); ok {
		fmt.Fprintf(out, "next: go tool mage train, then e.g. go tool mage train -set=\"train.%s=%s\"\n", a.Key, a.Value)
		return
	}
	fmt.Fprintln(out, "next: go tool mage train")
}
