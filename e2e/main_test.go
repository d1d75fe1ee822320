package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/magelab/magelab/internal/magebuild"
	"github.com/magelab/magelab/internal/venv"
	"github.com/stretchr/testify/require"
)

var (
	repoRoot   string // this repository
	magelabBin string // built once by `go tool mage -compile`
	sharedVenv string // one venv with the default requirements, shared by tests
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "magelab-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	magelabBin = filepath.Join(tmp, "magelab")
	if err := compile(magelabBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if sharedVenv, err = buildSharedVenv(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// compile builds the targets into one binary, as fan-out backends do.
func compile(out string) error {
	return magebuild.Compile(context.Background(), repoRoot, out, nil)
}

// buildSharedVenv builds (or reuses, when its requirements are unchanged)
// the venv of the default experiment's requirements, plus pytest for the
// Python smoke tests. MAGELAB_TEST_VENV moves it; it survives between test
// runs so that only a requirements change reinstalls.
func buildSharedVenv() (string, error) {
	dir := os.Getenv("MAGELAB_TEST_VENV")
	if dir == "" {
		dir = filepath.Join(repoRoot, ".cache", "test-venv")
	}
	v := venv.Venv{Dir: dir, Root: repoRoot, Requirements: []string{"python/requirements.txt"}}
	start := time.Now()
	if _, err := v.Ensure(context.Background(), os.Stderr); err != nil {
		return "", err
	}
	if exec.Command(v.Python(), "-c", "import pytest").Run() != nil {
		var cmd *exec.Cmd
		if uv, err := exec.LookPath("uv"); err == nil {
			cmd = exec.Command(uv, "pip", "install", "--python", v.Python(), "-r", filepath.Join(repoRoot, "python/requirements-dev.txt"))
		} else {
			cmd = exec.Command(v.Python(), "-m", "pip", "install", "-r", filepath.Join(repoRoot, "python/requirements-dev.txt"))
		}
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("install pytest into %s: %w", dir, err)
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: shared venv %s ready (%s)\n", dir, time.Since(start).Round(time.Second))
	return dir, nil
}

// project is a temporary copy of this repository's working tree.
type project struct {
	t    *testing.T
	dir  string
	env  []string
	venv string          // MAGELAB_VENV, "" for the project's own .venv
	seen map[string]bool // run ids already looked at
}

// newProject copies the files git would commit (tracked and untracked but
// not ignored) into a temporary directory.
func newProject(t *testing.T) *project {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: builds venvs and trains models")
	}
	dir := t.TempDir()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-co", "--exclude-standard", "-z").Output()
	require.NoError(t, err, "git ls-files: %v", err)
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, rel)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		copyFile(t, src, filepath.Join(dir, rel), st.Mode())
	}
	return &project{t: t, dir: dir, venv: sharedVenv}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	os.MkdirAll(filepath.Dir(dst), 0o755)
	require.NoError(t, os.WriteFile(dst, b, mode.Perm()))
}

// result is one finished magelab command.
type result struct {
	out  string
	code int
	dur  time.Duration
}

// mage runs the compiled targets binary in the project.
func (p *project) mage(args ...string) result {
	p.t.Helper()
	return p.run(magelabBin, args...)
}

// tryMage is mage for a goroutine other than the test's: it returns the
// error that mage would fail the test with, for the test goroutine to check
// (FailNow must not be called from another goroutine).
func (p *project) tryMage(args ...string) (result, error) {
	return p.tryRun(magelabBin, args...)
}

func (p *project) run(bin string, args ...string) result {
	p.t.Helper()
	res, err := p.tryRun(bin, args...)
	require.NoError(p.t, err)
	return res
}

// tryRun runs bin in the project; a non-zero exit is res.code, and err is
// only for a command that could not be run at all.
func (p *project) tryRun(bin string, args ...string) (result, error) {
	cmd := p.command(bin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	res := result{out: buf.String(), dur: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		return res, fmt.Errorf("%s %v: %v", bin, args, err)
	}
	return res, nil
}

func (p *project) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Env = append(cmd.Env, "MAGELAB_VENV="+p.venv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// mustMage runs a target that must succeed.
func (p *project) mustMage(args ...string) result {
	p.t.Helper()
	r := p.mage(args...)
	require.Equal(p.t, 0, r.code, "magelab %v: exit %d\n%s", args, r.code, r.out)
	return r
}

func (p *project) write(rel, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, rel)
	os.MkdirAll(filepath.Dir(path), 0o755)
	require.NoError(p.t, os.WriteFile(path, []byte(content), 0o644))
}

func (p *project) read(rel string) string {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, rel))
	require.NoError(p.t, err)
	return string(b)
}

func (p *project) appendTo(rel, content string) {
	p.t.Helper()
	f, err := os.OpenFile(filepath.Join(p.dir, rel), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(p.t, err)
	defer f.Close()
	io.WriteString(f, content)
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		require.Contains(t, out, w, "output lacks %q:\n%s", w, out)
	}
}

// readAbs reads a file outside the project (a job summary).
func (p *project) readAbs(path string) string {
	p.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	return string(b)
}
