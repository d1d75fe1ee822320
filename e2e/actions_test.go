package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// A small player of GitHub Actions workflows, for the tests of the
// reusable workflow and the composite action: the `run:` steps run as
// written, with bash, in a fresh clone per job (actions/checkout), with
// $GITHUB_OUTPUT, $GITHUB_ENV and $GITHUB_STEP_SUMMARY; upload-artifact
// and download-artifact copy directories; setup-go, setup-python and cache
// do nothing (Go and Python are on this machine). Expressions are looked
// up in a context; one the player does not know fails the test, so that
// the workflows stay within what is played.

type workflowFile struct {
	On struct {
		WorkflowCall struct {
			Inputs map[string]struct {
				Type    string `yaml:"type"`
				Default any    `yaml:"default"`
			} `yaml:"inputs"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Jobs map[string]workflowJob `yaml:"jobs"`
}

type workflowJob struct {
	Needs    any               `yaml:"needs"`
	If       string            `yaml:"if"`
	Uses     string            `yaml:"uses"`
	With     map[string]any    `yaml:"with"`
	Outputs  map[string]string `yaml:"outputs"`
	Strategy struct {
		Matrix any `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []workflowStep `yaml:"steps"`
}

type workflowStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
	With map[string]string `yaml:"with"`
}

type actionFile struct {
	Inputs map[string]struct {
		Default string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Steps []workflowStep `yaml:"steps"`
	} `yaml:"runs"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// player plays jobs against one origin repository.
type player struct {
	t         *testing.T
	origin    string            // the repository checked out
	env       []string          // added to every step (no GPU, the shared venv)
	artifacts string            // one directory per uploaded artifact
	ctx       map[string]any    // expression values: inputs.x, github.run_id, ...
	summaries map[string]string // job → its step summary
	mu        sync.Mutex
}

func newPlayer(t *testing.T, origin string, env []string, ctx map[string]any) *player {
	return &player{t: t, origin: origin, env: env, artifacts: t.TempDir(), ctx: ctx, summaries: map[string]string{}}
}

// jobRun is one job being played: its clone, context and files.
type jobRun struct {
	*player
	name, dir            string
	ctx                  map[string]any
	output, envFile, sum string
	extraEnv             []string
}

// job plays steps in a fresh clone, with ctx on top of the player's, and
// returns the job's context (steps.ID.outputs.X filled in).
func (p *player) job(name string, steps []workflowStep, ctx map[string]any) map[string]any {
	p.t.Helper()
	j := &jobRun{player: p, name: name, dir: filepath.Join(p.t.TempDir(), "checkout"), ctx: map[string]any{"github.job": name}}
	for k, v := range p.ctx {
		j.ctx[k] = v
	}
	for k, v := range ctx {
		j.ctx[k] = v
	}
	files := p.t.TempDir()
	j.output, j.envFile, j.sum = filepath.Join(files, "output"), filepath.Join(files, "env"), filepath.Join(files, "summary")
	for _, s := range steps {
		j.step(s)
	}
	b, _ := os.ReadFile(j.sum)
	p.mu.Lock()
	p.summaries[name] += string(b)
	p.mu.Unlock()
	return j.ctx
}

func (j *jobRun) step(s workflowStep) {
	t := j.t
	t.Helper()
	if s.If != "" && !j.cond(s.If) {
		return
	}
	with := map[string]string{}
	for k, v := range s.With {
		with[k] = fmt.Sprint(j.eval(v))
	}
	switch action, _, _ := strings.Cut(s.Uses, "@"); action {
	case "":
	case "actions/checkout":
		gitIn(t, "", "clone", "-q", j.origin, j.dir)
		return
	case "actions/setup-go", "actions/setup-python", "actions/cache":
		return
	case "actions/upload-artifact":
		j.upload(with["name"], strings.Fields(with["path"]))
		return
	case "actions/download-artifact":
		j.download(with["name"], with["pattern"], with["path"])
		return
	default:
		t.Fatalf("job %s: the player does not know %s", j.name, s.Uses)
	}
	env := append(append(os.Environ(), j.env...), j.extraEnv...)
	env = append(env, "GITHUB_OUTPUT="+j.output, "GITHUB_ENV="+j.envFile, "GITHUB_STEP_SUMMARY="+j.sum, "CI=true")
	for k, v := range s.Env {
		env = append(env, k+"="+fmt.Sprint(j.eval(v)))
	}
	os.WriteFile(j.output, nil, 0o644)
	cmd := exec.Command("bash", "-e", "-c", s.Run)
	cmd.Dir, cmd.Env = j.dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("job %s, step %q: %v\n%s\n%s", j.name, s.Name, err, s.Run, out)
	}
	j.readFiles(s.ID)
}

// readFiles takes the step's outputs and the variables it set for the
// steps after it.
func (j *jobRun) readFiles(id string) {
	if b, err := os.ReadFile(j.output); err == nil && id != "" {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				j.ctx["steps."+id+".outputs."+k] = v
			}
		}
	}
	if b, err := os.ReadFile(j.envFile); err == nil {
		j.extraEnv = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
}

// upload copies paths (relative to the checkout) into the artifact, below
// their deepest common directory, as upload-artifact stores them.
func (j *jobRun) upload(name string, paths []string) {
	j.t.Helper()
	require.NotEmpty(j.t, name)
	root := filepath.Dir(filepath.Clean(paths[0]))
	if len(paths) == 1 {
		root = filepath.Clean(paths[0])
	}
	for _, p := range paths[1:] {
		for !strings.HasPrefix(filepath.Clean(p), root+"/") && root != "." {
			root = filepath.Dir(root)
		}
	}
	dst := filepath.Join(j.artifacts, name)
	for _, p := range paths {
		src := filepath.Join(j.dir, p)
		rel, _ := filepath.Rel(filepath.Join(j.dir, root), src)
		copyTree(j.t, src, filepath.Join(dst, rel))
	}
}

// download copies one artifact into path, or each artifact matching
// pattern into path/NAME.
func (j *jobRun) download(name, pattern, path string) {
	j.t.Helper()
	if name != "" {
		copyTree(j.t, filepath.Join(j.artifacts, name), filepath.Join(j.dir, path))
		return
	}
	m, err := filepath.Glob(filepath.Join(j.artifacts, pattern))
	require.NoError(j.t, err)
	require.NotEmpty(j.t, m, "no artifact matches %s", pattern)
	for _, a := range m {
		copyTree(j.t, a, filepath.Join(j.dir, path, filepath.Base(a)))
	}
}

// copyTree copies a file or directory, keeping modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		copyFile(t, p, filepath.Join(dst, rel), info.Mode())
		return nil
	}))
}

var expr = regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)

// eval fills the ${{ }} expressions of s: a string that is one expression
// is its value (a matrix object stays an object).
func (j *jobRun) eval(s any) any {
	str, ok := s.(string)
	if !ok {
		return s
	}
	if m := expr.FindStringSubmatch(str); m != nil && m[0] == strings.TrimSpace(str) {
		return j.value(m[1])
	}
	return expr.ReplaceAllStringFunc(str, func(e string) string { return fmt.Sprint(j.value(expr.FindStringSubmatch(e)[1])) })
}

func (j *jobRun) value(e string) any {
	j.t.Helper()
	if inner, ok := strings.CutPrefix(e, "fromJSON("); ok {
		var v any
		require.NoError(j.t, json.Unmarshal([]byte(fmt.Sprint(j.value(strings.TrimSuffix(inner, ")")))), &v), e)
		return v
	}
	if strings.HasPrefix(e, "hashFiles(") {
		return "hash"
	}
	v, ok := j.ctx[e]
	if !ok {
		j.t.Fatalf("job %s: the player has no value for ${{ %s }}", j.name, e)
	}
	return v
}

// cond evaluates an if: of the forms the workflows use: always(), A ==
// 'literal', joined by &&. Every job the player ran succeeded.
func (j *jobRun) cond(c string) bool {
	for _, part := range strings.Split(expr.ReplaceAllString(c, "$1"), "&&") {
		part = strings.TrimSpace(part)
		if part == "always()" {
			continue
		}
		a, b, ok := strings.Cut(part, "==")
		if !ok {
			j.t.Fatalf("job %s: the player cannot evaluate if: %s", j.name, c)
		}
		a, b = strings.TrimSpace(a), strings.Trim(strings.TrimSpace(b), "'")
		if strings.HasSuffix(a, ".result") {
			if b != "success" {
				return false
			}
			continue
		}
		if fmt.Sprint(j.value(a)) != b {
			return false
		}
	}
	return true
}
