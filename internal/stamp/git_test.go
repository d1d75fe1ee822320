package stamp

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
	gogit "github.com/go-git/go-git/v5"
	"github.com/magelab/magelab/internal/record"
)

// gitReal is the git CLI, found before a test puts a fake one on PATH.
var gitReal = "git"

// gitIsolate keeps the user's and the system's git config out of the test
// repositories, and names the committer.
func gitIsolate(t *testing.T) {
	t.Helper()
	real, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("these tests need the git CLI: %v", err)
	}
	gitReal = real
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "XDG_CONFIG_HOME": home, "GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
		"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
		"GIT_DIR": "", "GIT_WORK_TREE": "", "GIT_INDEX_FILE": "",
	} {
		t.Setenv(k, v)
		if v == "" {
			os.Unsetenv(k)
		}
	}
}

// gitMustRun runs git in dir and returns its trimmed stdout.
func gitMustRun(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(gitReal, append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func gitMustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func gitMustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// gitMustRepo is a repository on branch main with one commit of files.
func gitMustRepo(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "repo")
	gitMustRun(tb, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	for name, content := range files {
		gitMustWrite(tb, filepath.Join(dir, name), content)
	}
	gitMustRun(tb, dir, "add", "-A")
	gitMustRun(tb, dir, "commit", "-q", "-m", "init")
	return dir
}

// gitMustApply clones repo at its HEAD, applies the run's patch there with
// `git apply` and returns the clone.
func gitMustApply(tb testing.TB, repo, runDir string) string {
	tb.Helper()
	clone := filepath.Join(tb.TempDir(), "clone")
	gitMustRun(tb, repo, "clone", "-q", "file://"+repo, clone)
	gitMustRun(tb, clone, "checkout", "-q", gitMustRun(tb, repo, "rev-parse", "HEAD"))
	gitMustRun(tb, clone, "apply", filepath.Join(runDir, patchName))
	return clone
}

func gitNoWarnings(tb testing.TB, warnings []string) {
	tb.Helper()
	if len(warnings) > 0 {
		tb.Errorf("warnings = %q", warnings)
	}
}

func gitHasWarning(tb testing.TB, warnings []string, part string) {
	tb.Helper()
	for _, w := range warnings {
		if strings.Contains(w, part) {
			return
		}
	}
	tb.Errorf("no warning with %q in %q", part, warnings)
}

var gitBaseFiles = map[string]string{
	"a.txt":      "one\ntwo\nthree\nfour\nfive\nsix\nseven\n",
	"gone.txt":   "to be deleted\n",
	"sub/x.txt":  "x\n",
	".gitignore": "*.log\n.venv/\n",
}

func TestGitStamp(t *testing.T) {
	gitIsolate(t)
	ctx := context.Background()

	t.Run("NotARepo", func(t *testing.T) {
		g, warnings := Git(ctx, t.TempDir(), t.TempDir(), GitOptions{})
		if g != nil {
			t.Errorf("git = %+v, want nil", g)
		}
		gitHasWarning(t, warnings, "not in a git repository")
	})

	t.Run("NoCommits", func(t *testing.T) {
		for _, noCLI := range []bool{false, true} {
			dir := filepath.Join(t.TempDir(), "repo")
			gitMustRun(t, filepath.Dir(dir), "init", "-q", "-b", "trunk", dir)
			gitMustWrite(t, filepath.Join(dir, "staged.txt"), "staged\n")
			gitMustRun(t, dir, "add", "staged.txt")
			gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
			runDir := t.TempDir()
			g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: noCLI})
			if g == nil {
				t.Fatalf("noCLI=%v: git = nil, warnings %q", noCLI, warnings)
			}
			if g.SHA != "" || g.Branch != "trunk" || !g.Dirty || g.Patch != patchName {
				t.Errorf("noCLI=%v: git = %+v", noCLI, g)
			}
			want := []record.UntrackedFile{{Path: "new.txt", Size: 4, Saved: true}}
			if !reflect.DeepEqual(g.Untracked, want) {
				t.Errorf("noCLI=%v: untracked = %+v, want %+v", noCLI, g.Untracked, want)
			}
			if p := gitMustRead(t, filepath.Join(runDir, patchName)); !strings.Contains(p, "+++ b/staged.txt") {
				t.Errorf("noCLI=%v: patch lacks staged.txt:\n%s", noCLI, p)
			}
			gitHasWarning(t, warnings, "repository has no commits yet")
		}
	})

	t.Run("OwnOutputsExcluded", func(t *testing.T) {
		// A project whose .gitignore forgets runs/, .magelab/ and the
		// venv: their files neither dirty the tree nor get saved.
		for _, noCLI := range []bool{false, true} {
			dir := gitMustRepo(t, gitBaseFiles)
			for _, f := range []string{"runs/ledger.jsonl", "runs/0190/out/model.pt", ".magelab/cache/x", ".venv/bin/python", "runs-notes.txt"} {
				gitMustWrite(t, filepath.Join(dir, f), "x\n")
			}
			own := []string{filepath.Join(dir, "runs"), filepath.Join(dir, ".magelab"), filepath.Join(dir, ".venv"), "/elsewhere"}
			g, warnings := Git(ctx, dir, filepath.Join(dir, "runs", "0191"), GitOptions{NoCLI: noCLI, Exclude: own})
			gitNoWarnings(t, warnings)
			want := []record.UntrackedFile{{Path: "runs-notes.txt", Size: 2, Saved: true}}
			if g == nil || !g.Dirty || !reflect.DeepEqual(g.Untracked, want) {
				t.Fatalf("noCLI=%v: git = %+v, want only runs-notes.txt untracked", noCLI, g)
			}
			os.Remove(filepath.Join(dir, "runs-notes.txt"))
			if g, _ := Git(ctx, dir, filepath.Join(dir, "runs", "0192"), GitOptions{NoCLI: noCLI, Exclude: own}); g == nil || g.Dirty || len(g.Untracked) != 0 {
				t.Fatalf("noCLI=%v: only magelab's outputs are untracked, yet git = %+v", noCLI, g)
			}
		}
	})

	t.Run("Clean", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{})
		want := &record.Git{SHA: gitMustRun(t, dir, "rev-parse", "HEAD"), Branch: "main", Tool: "git"}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("git = %+v, want %+v", g, want)
		}
		gitNoWarnings(t, warnings)
		if entries, _ := os.ReadDir(runDir); len(entries) != 0 {
			t.Errorf("run dir holds %v, want nothing", entries)
		}
	})

	t.Run("DirtyTrackedAndUntracked", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(dir, "a.txt"), "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight")
		gitMustWrite(t, filepath.Join(dir, "staged.txt"), "staged\n")
		gitMustRun(t, dir, "add", "staged.txt")
		gitMustRun(t, dir, "rm", "-q", "gone.txt")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new file\n")
		gitMustWrite(t, filepath.Join(dir, "deep/er/n.txt"), "nested\n")
		gitMustWrite(t, filepath.Join(dir, "big.bin"), strings.Repeat("b", 2000))
		gitMustWrite(t, filepath.Join(dir, "debug.log"), "ignored\n")
		gitMustWrite(t, filepath.Join(dir, ".venv/lib/site.py"), "ignored\n")
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{MaxFile: 1000})
		gitNoWarnings(t, warnings)
		if !g.Dirty || g.Patch != patchName || g.Tool != "git" {
			t.Fatalf("git = %+v", g)
		}
		clone := gitMustApply(t, dir, runDir)
		for _, name := range []string{"a.txt", "staged.txt"} {
			if got, want := gitMustRead(t, filepath.Join(clone, name)), gitMustRead(t, filepath.Join(dir, name)); got != want {
				t.Errorf("%s after git apply = %q, want %q", name, got, want)
			}
		}
		if _, err := os.Stat(filepath.Join(clone, "gone.txt")); !os.IsNotExist(err) {
			t.Errorf("gone.txt after git apply: %v, want deleted", err)
		}
		want := []record.UntrackedFile{
			{Path: "big.bin", Size: 2000},
			{Path: "deep/er/n.txt", Size: 7, Saved: true},
			{Path: "new.txt", Size: 9, Saved: true},
		}
		if !reflect.DeepEqual(g.Untracked, want) {
			t.Errorf("untracked = %+v, want %+v", g.Untracked, want)
		}
		if got := gitMustRead(t, filepath.Join(runDir, untrackedDir, "deep/er/n.txt")); got != "nested\n" {
			t.Errorf("saved deep/er/n.txt = %q", got)
		}
		if _, err := os.Stat(filepath.Join(runDir, untrackedDir, "big.bin")); !os.IsNotExist(err) {
			t.Errorf("big.bin over the cap was saved: %v", err)
		}
	})

	t.Run("TotalCapStopsSaving", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		for _, name := range []string{"u1", "u2", "u3"} {
			gitMustWrite(t, filepath.Join(dir, name), strings.Repeat("u", 400))
		}
		g, _ := Git(ctx, dir, t.TempDir(), GitOptions{MaxTotal: 1000})
		var saved []bool
		for _, u := range g.Untracked {
			saved = append(saved, u.Saved)
		}
		if want := []bool{true, true, false}; !reflect.DeepEqual(saved, want) {
			t.Errorf("saved = %v, want %v", saved, want)
		}
	})

	t.Run("BinaryChange", func(t *testing.T) {
		dir := gitMustRepo(t, map[string]string{"w.bin": "\x00\x01\x02weights\xff\x00"})
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00\x09\x08new weights\xfe\x00\x00")
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{})
		gitNoWarnings(t, warnings)
		if !g.Dirty || g.Patch == "" {
			t.Fatalf("git = %+v", g)
		}
		if p := gitMustRead(t, filepath.Join(runDir, patchName)); !strings.Contains(p, "GIT binary patch") {
			t.Errorf("patch is not a binary patch:\n%s", p)
		}
		clone := gitMustApply(t, dir, runDir)
		if got, want := gitMustRead(t, filepath.Join(clone, "w.bin")), gitMustRead(t, filepath.Join(dir, "w.bin")); got != want {
			t.Errorf("w.bin after git apply = %q, want %q", got, want)
		}
		// go-git writes no binary patch: nothing to save, and a warning.
		runDir = t.TempDir()
		g, warnings = Git(ctx, dir, runDir, GitOptions{NoCLI: true})
		if !g.Dirty || g.Patch != "" {
			t.Errorf("go-git: git = %+v", g)
		}
		if _, err := os.Stat(filepath.Join(runDir, patchName)); !os.IsNotExist(err) {
			t.Errorf("go-git: empty patch written: %v", err)
		}
		gitHasWarning(t, warnings, "cannot write binary patches: changes to w.bin")
		if !strings.Contains(g.PatchIncomplete, "w.bin") {
			t.Errorf("go-git: PatchIncomplete = %q, want the binary change named", g.PatchIncomplete)
		}
	})

	t.Run("DetachedHeadUsesHeadRef", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustRun(t, dir, "checkout", "-q", "--detach")
		sha := gitMustRun(t, dir, "rev-parse", "HEAD")
		for _, noCLI := range []bool{false, true} {
			g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{HeadRef: "feature/x", NoCLI: noCLI})
			if g.Branch != "feature/x" || g.SHA != sha {
				t.Errorf("noCLI=%v: git = %+v, want branch feature/x at %s", noCLI, g, sha)
			}
			gitNoWarnings(t, warnings)
			g, warnings = Git(ctx, dir, t.TempDir(), GitOptions{NoCLI: noCLI})
			if g.Branch != "" || g.SHA != sha {
				t.Errorf("noCLI=%v, no HeadRef: git = %+v, want no branch", noCLI, g)
			}
			gitNoWarnings(t, warnings)
		}
	})

	t.Run("ShallowClone", func(t *testing.T) {
		origin := gitMustRepo(t, gitBaseFiles)
		for i := range 3 {
			gitMustWrite(t, filepath.Join(origin, "a.txt"), strings.Repeat("more\n", i+1))
			gitMustRun(t, origin, "commit", "-q", "-am", "more")
		}
		clone := filepath.Join(t.TempDir(), "shallow")
		gitMustRun(t, origin, "clone", "-q", "--depth", "1", "file://"+origin, clone)
		for _, noCLI := range []bool{false, true} {
			g, warnings := Git(ctx, clone, t.TempDir(), GitOptions{NoCLI: noCLI})
			want := &record.Git{SHA: gitMustRun(t, origin, "rev-parse", "HEAD"), Branch: "main", Remote: "file://" + origin, Shallow: true, Tool: "git"}
			if noCLI {
				want.Tool = "go-git"
			}
			if !reflect.DeepEqual(g, want) {
				t.Errorf("git = %+v, want %+v", g, want)
			}
			gitNoWarnings(t, warnings)
		}
	})

	t.Run("LinkedWorktree", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		wt := filepath.Join(t.TempDir(), "wt")
		gitMustRun(t, dir, "worktree", "add", "-q", "-b", "feat", wt)
		gitMustWrite(t, filepath.Join(wt, "a.txt"), "changed in the worktree\n")
		for _, noCLI := range []bool{false, true} {
			runDir := t.TempDir()
			g, warnings := Git(ctx, filepath.Join(wt, "sub"), runDir, GitOptions{NoCLI: noCLI})
			gitNoWarnings(t, warnings)
			if !g.Worktree || g.Branch != "feat" || g.SHA != gitMustRun(t, dir, "rev-parse", "HEAD") || !g.Dirty || g.Patch == "" {
				t.Errorf("noCLI=%v: git = %+v", noCLI, g)
			}
			if p := gitMustRead(t, filepath.Join(runDir, patchName)); !strings.Contains(p, "+changed in the worktree") {
				t.Errorf("noCLI=%v: patch:\n%s", noCLI, p)
			}
		}
		if g, _ := Git(ctx, dir, t.TempDir(), GitOptions{}); g.Worktree || g.Branch != "main" {
			t.Errorf("main worktree: git = %+v", g)
		}
	})

	t.Run("SubdirectoryRoot", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(dir, "sub/x.txt"), "x changed\n")
		gitMustWrite(t, filepath.Join(dir, "sub/deeper/new.txt"), "new\n")
		runDir := t.TempDir()
		g, warnings := Git(ctx, filepath.Join(dir, "sub", "deeper"), runDir, GitOptions{})
		gitNoWarnings(t, warnings)
		if want := []record.UntrackedFile{{Path: "sub/deeper/new.txt", Size: 4, Saved: true}}; !reflect.DeepEqual(g.Untracked, want) {
			t.Errorf("untracked = %+v, want %+v", g.Untracked, want)
		}
		if p := gitMustRead(t, filepath.Join(runDir, patchName)); !strings.Contains(p, "--- a/sub/x.txt") {
			t.Errorf("patch paths are not from the top:\n%s", p)
		}
		if _, err := os.Stat(filepath.Join(runDir, untrackedDir, "sub/deeper/new.txt")); err != nil {
			t.Error(err)
		}
	})

	t.Run("RunDirInsideTreeNotListed", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		runDir := filepath.Join(dir, "myruns", "r1")
		gitMustWrite(t, filepath.Join(runDir, "params.yaml"), "lr: 1\n")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		g, _ := Git(ctx, dir, runDir, GitOptions{})
		if want := []record.UntrackedFile{{Path: "new.txt", Size: 4, Saved: true}}; !reflect.DeepEqual(g.Untracked, want) {
			t.Errorf("untracked = %+v, want %+v", g.Untracked, want)
		}
	})

	t.Run("GoGitFallback", func(t *testing.T) {
		dir := gitMustRepo(t, map[string]string{
			"a.txt": gitBaseFiles["a.txt"], "gone.txt": "bye\n", "run.sh": "#!/bin/sh\n", "w.bin": "\x00old",
			".gitignore": "*.log\n.venv/\n", "sub/.gitignore": "cache/\n",
		})
		gitMustWrite(t, filepath.Join(dir, "a.txt"), "one\ntwo\nTHREE\nfour\nfive\nsix\nseven\neight")
		gitMustWrite(t, filepath.Join(dir, "staged.txt"), "staged\n")
		gitMustRun(t, dir, "add", "staged.txt")
		gitMustRun(t, dir, "rm", "-q", "gone.txt")
		if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
			t.Fatal(err)
		}
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00new")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new file\n")
		gitMustWrite(t, filepath.Join(dir, "x.log"), "ignored\n")
		gitMustWrite(t, filepath.Join(dir, ".venv/lib/site.py"), "ignored\n")
		gitMustWrite(t, filepath.Join(dir, "sub/cache/c.txt"), "ignored\n")

		cli, _ := Git(ctx, dir, t.TempDir(), GitOptions{})
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: true})
		if g.Tool != "go-git" || cli.Tool != "git" {
			t.Errorf("tools = %q, %q", g.Tool, cli.Tool)
		}
		if !strings.Contains(g.PatchIncomplete, "w.bin") || cli.PatchIncomplete != "" {
			t.Errorf("PatchIncomplete: go-git %q, CLI %q; want only go-git's, naming w.bin", g.PatchIncomplete, cli.PatchIncomplete)
		}
		g.Tool, g.PatchIncomplete = cli.Tool, ""
		if !reflect.DeepEqual(g, cli) {
			t.Errorf("go-git = %+v\nCLI    = %+v", g, cli)
		}
		if len(warnings) != 1 {
			t.Errorf("warnings = %q, want one on the binary file", warnings)
		}
		gitHasWarning(t, warnings, "w.bin")
		// The text changes apply; the binary one is the warning's.
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00old")
		clone := gitMustApply(t, dir, runDir)
		for _, name := range []string{"a.txt", "staged.txt", "run.sh", "w.bin"} {
			if got, want := gitMustRead(t, filepath.Join(clone, name)), gitMustRead(t, filepath.Join(dir, name)); got != want {
				t.Errorf("%s after git apply = %q, want %q", name, got, want)
			}
		}
		if fi, err := os.Stat(filepath.Join(clone, "run.sh")); err != nil || fi.Mode()&0o100 == 0 {
			t.Errorf("run.sh mode after git apply: %v %v", fi.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(clone, "gone.txt")); !os.IsNotExist(err) {
			t.Errorf("gone.txt after git apply: %v, want deleted", err)
		}
	})

	t.Run("GoGitCannotOpenUsesCLI", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustRun(t, dir, "config", "core.repositoryformatversion", "1")
		gitMustRun(t, dir, "config", "extensions.worktreeConfig", "true")
		gitMustRun(t, dir, "remote", "add", "backup", "https://backup.example.com/x.git")
		gitMustRun(t, dir, "remote", "add", "origin", "https://u:pw0rd@example.com/x.git")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{})
		want := &record.Git{
			SHA: gitMustRun(t, dir, "rev-parse", "HEAD"), Branch: "main", Remote: "https://example.com/x.git", Dirty: true,
			Untracked: []record.UntrackedFile{{Path: "new.txt", Size: 4, Saved: true}}, Tool: "git",
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("git = %+v, want %+v", g, want)
		}
		gitHasWarning(t, warnings, "go-git cannot open")
		g, warnings = Git(ctx, dir, t.TempDir(), GitOptions{NoCLI: true})
		if g != nil {
			t.Errorf("no CLI: git = %+v, want nil", g)
		}
		gitHasWarning(t, warnings, "open repository")
	})

	t.Run("UntrackedOnlyIsDirty", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		for _, noCLI := range []bool{false, true} {
			runDir := t.TempDir()
			g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: noCLI})
			gitNoWarnings(t, warnings)
			if !g.Dirty || g.Patch != "" || len(g.Untracked) != 1 {
				t.Errorf("noCLI=%v: git = %+v", noCLI, g)
			}
			if _, err := os.Stat(filepath.Join(runDir, patchName)); !os.IsNotExist(err) {
				t.Errorf("noCLI=%v: empty patch written: %v", noCLI, err)
			}
		}
	})

	t.Run("CLIFailsFallsBackToGoGit", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustRun(t, dir, "remote", "add", "origin", "https://user:tok3n@example.com/x.git")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		gitFakeOnPath(t, "echo \"fatal: unable to access 'https://user:tok3n@example.com/x.git/': denied\" >&2; exit 128")
		g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{})
		if g.Tool != "go-git" || !g.Dirty || g.SHA == "" {
			t.Errorf("git = %+v", g)
		}
		gitHasWarning(t, warnings, "exit status 128: fatal: unable to access 'https://example.com/x.git/'")
		if b, _ := json.Marshal(warnings); bytes.Contains(b, []byte("tok3n")) {
			t.Errorf("warnings hold the token: %s", b)
		}
	})

	t.Run("CLIHangsTimesOut", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitFakeOnPath(t, "sleep 30")
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{})
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("StampGit took %v with a hung git", took)
		}
		if g == nil || g.SHA == "" || g.Tool != "" {
			t.Errorf("git = %+v, want the SHA and no status", g)
		}
		gitHasWarning(t, warnings, "dirty state unknown")
		if g != nil && !strings.Contains(g.PatchIncomplete, "dirty state unknown") {
			t.Errorf("PatchIncomplete = %q, want the unknown dirty state recorded", g.PatchIncomplete)
		}
	})

	t.Run("RemoteCredentialsRedacted", func(t *testing.T) {
		const url = "https://user:tok3n@example.com/x.git"
		dir := gitMustRepo(t, map[string]string{"ci.sh": "git push\n"})
		gitMustRun(t, dir, "remote", "add", "backup", "ssh://me:s3cr3tpw@host/x.git")
		gitMustRun(t, dir, "remote", "add", "origin", url)
		gitMustWrite(t, filepath.Join(dir, "ci.sh"), "git push "+url+"\n")
		gitMustWrite(t, filepath.Join(dir, "notes.txt"), "pushed to "+url+" with s3cr3tpw\n")
		for _, noCLI := range []bool{false, true} {
			runDir := t.TempDir()
			g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: noCLI})
			if g.Remote != "https://example.com/x.git" {
				t.Errorf("noCLI=%v: remote = %q", noCLI, g.Remote)
			}
			b, err := json.Marshal(struct {
				G *record.Git
				W []string
			}{g, warnings})
			if err != nil {
				t.Fatal(err)
			}
			var saved []string
			err = filepath.WalkDir(runDir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					saved = append(saved, p)
					b = append(b, gitMustRead(t, p)...)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"tok3n", "s3cr3tpw"} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("noCLI=%v: %q found in the stamp or the run dir:\n%s", noCLI, secret, b)
				}
			}
			if len(saved) != 2 || !strings.Contains(string(b), "git push https://user:REDACTED@example.com/x.git") {
				t.Errorf("noCLI=%v: want git.patch and notes.txt saved with the token redacted: %q", noCLI, saved)
			}
			gitHasWarning(t, warnings, "held a remote's credentials")
			if !slices.Contains(g.Redacted, patchName) || !slices.Contains(g.Redacted, "notes.txt") {
				t.Errorf("noCLI=%v: Redacted = %q, want git.patch and notes.txt", noCLI, g.Redacted)
			}
		}
	})
}

// gitFakeOnPath puts first on PATH a git that runs the shell script body.
func gitFakeOnPath(t *testing.T, body string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "git"), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// gitListFS records the directories go-git lists.
type gitListFS struct {
	billy.Filesystem
	listed *[]string
}

func (f gitListFS) ReadDir(dir string) ([]os.FileInfo, error) {
	*f.listed = append(*f.listed, filepath.ToSlash(dir))
	return f.Filesystem.ReadDir(dir)
}

func TestGitPruneSkipsIgnoredDirs(t *testing.T) {
	gitIsolate(t)
	dir := gitMustRepo(t, map[string]string{".gitignore": ".venv/\ndata/\n", "data/keep.txt": "tracked though ignored\n"})
	gitMustRun(t, dir, "add", "-f", "data/keep.txt")
	gitMustRun(t, dir, "commit", "-q", "-m", "keep")
	gitMustWrite(t, filepath.Join(dir, ".venv/lib/python3/site.py"), "x\n")
	gitMustWrite(t, filepath.Join(dir, "data/raw/big.csv"), "x\n")
	gitMustWrite(t, filepath.Join(dir, "data/keep.txt"), "changed\n")
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	wt.Filesystem = gitListFS{Filesystem: wt.Filesystem, listed: &listed}
	if err := prune(repo, wt); err != nil {
		t.Fatal(err)
	}
	listed = nil // gitPrune's own read of the ignore files does not count
	status, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range listed {
		if strings.HasPrefix(d, ".venv") || strings.HasPrefix(d, "data/raw") {
			t.Errorf("status listed ignored directory %s", d)
		}
	}
	if s := status.File("data/keep.txt"); s.Worktree != gogit.Modified {
		t.Errorf("tracked file in an ignored directory: status %q, want modified", s.Worktree)
	}
}

func TestGitParseStatus(t *testing.T) {
	tests := []struct {
		name      string
		out       string
		tracked   bool
		untracked []string
	}{
		{"Empty", "", false, nil},
		{"ModifiedUnstaged", " M a.txt\x00", true, nil},
		{"UntrackedOnly", "?? b.txt\x00?? dir/c d.txt\x00", false, []string{"b.txt", "dir/c d.txt"}},
		{"RenameSkipsSource", "R  new.txt\x00?? old.txt\x00?? u.txt\x00", true, []string{"u.txt"}},
		{"NestedRepo", "?? vendor/lib/\x00", false, []string{"vendor/lib/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tracked, untracked := parseStatus([]byte(tt.out))
			if tracked != tt.tracked || !reflect.DeepEqual(untracked, tt.untracked) {
				t.Errorf("got %v %q, want %v %q", tracked, untracked, tt.tracked, tt.untracked)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name, in, want string
		secrets        []string
	}{
		{"HTTPSUserPassword", "https://user:tok3n@github.com/org/x.git", "https://github.com/org/x.git", []string{"tok3n"}},
		{"HTTPSTokenOnly", "https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/org/x.git", "https://github.com/org/x.git", []string{"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}},
		{"HTTPSUserOnly", "https://alice@github.com/org/x.git", "https://github.com/org/x.git", nil},
		{"HTTPSOAuth2", "https://oauth2:glpat-xyz123@gitlab.com/x.git", "https://gitlab.com/x.git", []string{"glpat-xyz123"}},
		{"HTTPSEncodedPassword", "https://u:p%40ss%2Fw0rd@host:8443/x", "https://host:8443/x", []string{"p%40ss%2Fw0rd", "p@ss/w0rd"}},
		{"HTTPSRawAtInPassword", "https://u:p@ss@host/x", "https://host/x", []string{"p@ss"}},
		{"HTTPSQueryToken", "https://host/x.git?private_token=abc123#frag", "https://host/x.git", nil},
		{"HTTPSNoCredentials", "https://github.com/org/x.git", "https://github.com/org/x.git", nil},
		{"HTTPUpperScheme", "HTTP://u:secret1@host/x", "HTTP://host/x", []string{"secret1"}},
		{"SSHUserPassword", "ssh://user:pass99@host:22/x.git", "ssh://user@host:22/x.git", []string{"pass99"}},
		{"SSHUserOnly", "ssh://git@github.com/org/x.git", "ssh://git@github.com/org/x.git", nil},
		{"GitPlusSSH", "git+ssh://git:pw1234@host/x", "git+ssh://git@host/x", []string{"pw1234"}},
		{"SCPLike", "git@github.com:org/x.git", "git@github.com:org/x.git", nil},
		{"SCPLikePassword", "git:hunter2@github.com:org/x.git", "git@github.com:org/x.git", []string{"hunter2"}},
		{"SCPLikeNoUser", "github.com:org/x.git", "github.com:org/x.git", nil},
		{"FileURL", "file:///srv/git/x.git", "file:///srv/git/x.git", nil},
		{"AbsolutePath", "/srv/git/x@2.git", "/srv/git/x@2.git", nil},
		{"RelativePath", "../x.git", "../x.git", nil},
		{"BarePathWithAt", "repos/x@v2", "repos/x@v2", nil},
		{"WindowsPath", `C:\repos\me@corp\x`, `C:\repos\me@corp\x`, nil},
		{"GarbagePassword", "user:s3cret@", "", []string{"s3cret"}},
		{"GarbageNoScheme", "tok3nvalue@nowhere", "nowhere", []string{"tok3nvalue"}},
		{"NotAURL", "not a url", "not a url", nil},
		{"Empty", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if _, secrets := splitCredentials(tt.in); !reflect.DeepEqual(secrets, tt.secrets) {
				t.Errorf("secrets of %q = %q, want %q", tt.in, secrets, tt.secrets)
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	got := redactText(`fatal: unable to access 'https://u:tok3n@host/x.git/': 403; also tok3n`, []string{"tok3n"})
	if want := `fatal: unable to access 'https://host/x.git/': 403; also REDACTED`; got != want {
		t.Errorf("gitRedactText = %q, want %q", got, want)
	}
}
