package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// combination runs one job (one matrix combination) in a fresh clone and
// returns its outputs and whether it succeeded.
func (r *actionsRun) combination(id string, j *wfJob, matrix map[string]any, needs map[string]any) (map[string]any, bool) {
	work := filepath.Join(r.t.TempDir(), "work")
	if out, err := exec.Command("git", "clone", "-q", r.origin, work).CombinedOutput(); err != nil {
		r.t.Fatalf("clone for job %s: %v\n%s", id, err, out)
	}
	env := map[string]string{}
	ctx := r.context(matrix, env)
	ctx.vars["needs"] = needs
	ctx.vars["github"].(map[string]any)["job"] = id
	for _, scope := range []map[string]string{r.wf.Env, j.Env} {
		for k, v := range scope {
			val, err := ctx.interpolate(v)
			if err != nil {
				r.t.Fatalf("job %s: env %s: %v", id, k, err)
			}
			env[k] = val
			ctx.vars["env"].(map[string]any)[k] = val
		}
	}
	steps := ctx.vars["steps"].(map[string]any)
	ok := true
	r.logf("== job %s %v in %s", id, matrix, work)
	for i, st := range j.Steps {
		ctx.failed = !ok
		run, err := ctx.condition(st.If)
		if err != nil {
			r.t.Fatalf("job %s, step %q: if: %v", id, st.label(), err)
		}
		if !run {
			r.logf("-- step %q skipped (if: %s)", st.label(), st.If)
			continue
		}
		if why, skipped := r.skip[id+"/"+st.label()]; skipped {
			r.logf("-- step %q not run here: %s", st.label(), why)
			continue
		}
		outputs, err := r.step(work, env, ctx, st, i)
		if st.ID != "" {
			steps[st.ID] = map[string]any{"outputs": outputs, "outcome": pick(err == nil, "success", "failure")}
		}
		if err != nil {
			r.logf("-- step %q FAILED: %v", st.label(), err)
			ok = false
		}
	}
	ctx.failed = !ok
	out := map[string]any{}
	for k, v := range j.Outputs {
		val, err := ctx.interpolate(v)
		if err != nil {
			r.t.Fatalf("job %s: output %s: %v", id, k, err)
		}
		out[k] = val
	}
	return out, ok
}

func pick(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// step runs one step in work and returns the outputs it wrote.
func (r *actionsRun) step(work string, env map[string]string, ctx *exprContext, st wfStep, i int) (map[string]any, error) {
	with := map[string]string{}
	for k, v := range st.With {
		val, err := ctx.interpolate(v)
		if err != nil {
			return nil, err
		}
		with[k] = val
	}
	action, _, _ := strings.Cut(st.Uses, "@")
	switch action {
	case "":
	case "actions/checkout", "actions/setup-go", "actions/setup-python", "actions/cache":
		r.logf("-- step %q: %s is a no-op here", st.label(), action)
		return nil, nil
	case "actions/upload-artifact":
		return nil, r.upload(work, with)
	case "actions/download-artifact":
		return nil, r.download(work, with)
	default:
		if strings.HasPrefix(action, "./") {
			return nil, r.composite(work, env, ctx, st, with)
		}
		r.t.Fatalf("%s: step %q uses %s, which this runner does not know: teach it (e2e/actions_steps_test.go)", r.file, st.label(), st.Uses)
	}
	script, err := ctx.interpolate(st.Run)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.t.TempDir(), fmt.Sprintf("step-%d", i))
	os.MkdirAll(dir, 0o755)
	files := map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_STEP_SUMMARY": "summary"}
	stepEnv := append([]string{}, r.env...)
	for k, v := range env {
		stepEnv = append(stepEnv, k+"="+v)
	}
	for k, v := range st.Env {
		val, err := ctx.interpolate(v)
		if err != nil {
			return nil, err
		}
		stepEnv = append(stepEnv, k+"="+val)
	}
	for k, f := range files {
		stepEnv = append(stepEnv, k+"="+filepath.Join(dir, f))
	}
	stepEnv = append(stepEnv, "CI=true", "GITHUB_ACTIONS=true", "GITHUB_WORKSPACE="+work, "GITHUB_RUN_ID=4242",
		"GITHUB_RUN_ATTEMPT=1", "GITHUB_REF_NAME=main", "RUNNER_OS=Linux", "RUNNER_TEMP="+dir)
	scriptFile := filepath.Join(dir, "script.sh")
	os.WriteFile(scriptFile, []byte(script), 0o644)
	shell := []string{"bash", "--noprofile", "--norc", "-eo", "pipefail", scriptFile} // GitHub's default on Linux
	if st.Shell == "sh" {
		shell = []string{"sh", "-e", scriptFile}
	}
	cmd := exec.Command(shell[0], shell[1:]...)
	cmd.Dir = filepath.Join(work, st.WorkingDirectory)
	cmd.Env = stepEnv
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	r.logf("-- step %q:\n%s", st.label(), script)
	runErr := cmd.Run()
	r.Log.WriteString(out.String())
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.Summary.Write(b)
	}
	newEnv, _ := readKV(filepath.Join(dir, "env"))
	for k, v := range newEnv {
		env[k] = v
	}
	outputs, err := readKV(filepath.Join(dir, "output"))
	if runErr == nil {
		runErr = err
	}
	res := map[string]any{}
	for k, v := range outputs {
		res[k] = v
	}
	return res, runErr
}

// readKV reads a GITHUB_OUTPUT or GITHUB_ENV file: name=value lines, and
// name<<DELIMITER blocks.
func readKV(path string) (map[string]string, error) {
	out := map[string]string{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return out, fmt.Errorf("%s: line %q is neither name=value nor name<<DELIMITER", filepath.Base(path), line)
		}
		out[name] = val
	}
	return out, nil
}

// upload copies the paths of an upload-artifact step into artifacts/<name>,
// rooted at their least common ancestor, as upload-artifact@v4 does.
func (r *actionsRun) upload(work string, with map[string]string) error {
	name := with["name"]
	if name == "" {
		name = "artifact"
	}
	dst := filepath.Join(r.artifacts, name)
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("upload-artifact: an artifact named %s was uploaded already (v4 refuses the same name twice)", name)
	}
	var files []string
	for _, p := range strings.Split(with["path"], "\n") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(work, p))
		for _, m := range matches {
			filepath.WalkDir(m, func(f string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, f)
				}
				return nil
			})
		}
	}
	if len(files) == 0 {
		r.logf("upload-artifact %s: no files found at %q (a warning on GitHub)", name, with["path"])
		return nil
	}
	root := commonDir(files)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		if err := copyPath(f, filepath.Join(dst, rel), 0o644); err != nil {
			return err
		}
	}
	r.logf("upload-artifact %s: %d file(s) from %s", name, len(files), root)
	return nil
}

// download copies an artifact (name) or every artifact matching pattern
// into path: each into path/<name> when there are several, unless
// merge-multiple.
func (r *actionsRun) download(work string, with map[string]string) error {
	into := filepath.Join(work, with["path"])
	entries, _ := os.ReadDir(r.artifacts)
	var names []string
	for _, e := range entries {
		switch {
		case with["name"] != "" && e.Name() == with["name"]:
			names = append(names, e.Name())
		case with["name"] == "" && with["pattern"] != "":
			if ok, _ := path.Match(with["pattern"], e.Name()); ok {
				names = append(names, e.Name())
			}
		case with["name"] == "" && with["pattern"] == "":
			names = append(names, e.Name())
		}
	}
	if with["name"] != "" && len(names) == 0 {
		return fmt.Errorf("download-artifact: no artifact named %s", with["name"])
	}
	single := with["name"] != "" || with["merge-multiple"] == "true"
	for _, n := range names {
		dst := into
		if !single {
			dst = filepath.Join(into, n)
		}
		err := filepath.WalkDir(filepath.Join(r.artifacts, n), func(f string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(r.artifacts, n), f)
			return copyPath(f, filepath.Join(dst, rel), 0o644) // artifacts keep no file modes: a step must chmod +x
		})
		if err != nil {
			return err
		}
	}
	r.logf("download-artifact: %v into %s", names, into)
	return nil
}

// commonDir is the deepest directory holding every file.
func commonDir(files []string) string {
	dir := filepath.Dir(files[0])
	for _, f := range files[1:] {
		for !strings.HasPrefix(f, dir+string(filepath.Separator)) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

func copyPath(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// sortedNames lists a directory's entries.
func sortedNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
