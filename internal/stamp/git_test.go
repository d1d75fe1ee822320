package stamp

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5"
	gogit "github.com/go-git/go-git/v5"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitReal is the git CLI, found before a test puts a fake one on PATH.
var gitReal = "git"

// gitIsolate keeps the user's and the system's git config out of the test
// repositories, and names the committer.
func gitIsolate(t *testing.T) {
	t.Helper()
	real, err := exec.LookPath("git")
	require.NoError(t, err, "these tests need the git CLI")
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
	require.NoError(tb, err, "git %s: %s", strings.Join(args, " "), stderr.String())
	return strings.TrimSpace(string(out))
}

func gitMustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(tb, os.WriteFile(path, []byte(content), 0o644))
}

func gitMustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err)
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
	assert.Empty(tb, warnings, "warnings")
}

func gitHasWarning(tb testing.TB, warnings []string, part string) {
	tb.Helper()
	assert.True(tb, slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, part) }),
		"no warning with %q in %q", part, warnings)
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
		assert.Nil(t, g, "git")
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
			require.NotNil(t, g, "noCLI=%v: git = nil, warnings %q", noCLI, warnings)
			assert.Empty(t, g.SHA, "noCLI=%v: git = %+v", noCLI, g)
			assert.Equal(t, "trunk", g.Branch, "noCLI=%v: git = %+v", noCLI, g)
			assert.True(t, g.Dirty, "noCLI=%v: git = %+v", noCLI, g)
			assert.Equal(t, patchName, g.Patch, "noCLI=%v: git = %+v", noCLI, g)
			want := []record.UntrackedFile{{Path: "new.txt", Size: 4, Saved: true}}
			assert.Equal(t, want, g.Untracked, "noCLI=%v: untracked", noCLI)
			assert.Contains(t, gitMustRead(t, filepath.Join(runDir, patchName)), "+++ b/staged.txt", "noCLI=%v: patch lacks staged.txt", noCLI)
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
			require.NotNil(t, g, "noCLI=%v: git = nil, want only runs-notes.txt untracked", noCLI)
			require.True(t, g.Dirty, "noCLI=%v: git = %+v, want only runs-notes.txt untracked", noCLI, g)
			require.Equal(t, want, g.Untracked, "noCLI=%v: git = %+v, want only runs-notes.txt untracked", noCLI, g)
			os.Remove(filepath.Join(dir, "runs-notes.txt"))
			g, _ = Git(ctx, dir, filepath.Join(dir, "runs", "0192"), GitOptions{NoCLI: noCLI, Exclude: own})
			require.NotNil(t, g, "noCLI=%v: only magelab's outputs are untracked, yet git = nil", noCLI)
			require.False(t, g.Dirty, "noCLI=%v: only magelab's outputs are untracked, yet git = %+v", noCLI, g)
			require.Empty(t, g.Untracked, "noCLI=%v: only magelab's outputs are untracked, yet git = %+v", noCLI, g)
		}
	})

	t.Run("Clean", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{})
		want := &record.Git{SHA: gitMustRun(t, dir, "rev-parse", "HEAD"), Branch: "main", Tool: "git"}
		assert.Equal(t, want, g, "git")
		gitNoWarnings(t, warnings)
		entries, _ := os.ReadDir(runDir)
		assert.Empty(t, entries, "run dir holds %v, want nothing", entries)
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
		require.True(t, g.Dirty, "git = %+v", g)
		require.Equal(t, patchName, g.Patch, "git = %+v", g)
		require.Equal(t, "git", g.Tool, "git = %+v", g)
		clone := gitMustApply(t, dir, runDir)
		for _, name := range []string{"a.txt", "staged.txt"} {
			got, want := gitMustRead(t, filepath.Join(clone, name)), gitMustRead(t, filepath.Join(dir, name))
			assert.Equal(t, want, got, "%s after git apply", name)
		}
		_, err := os.Stat(filepath.Join(clone, "gone.txt"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "gone.txt after git apply, want deleted")
		want := []record.UntrackedFile{
			{Path: "big.bin", Size: 2000},
			{Path: "deep/er/n.txt", Size: 7, Saved: true},
			{Path: "new.txt", Size: 9, Saved: true},
		}
		assert.Equal(t, want, g.Untracked, "untracked")
		assert.Equal(t, "nested\n", gitMustRead(t, filepath.Join(runDir, untrackedDir, "deep/er/n.txt")), "saved deep/er/n.txt")
		_, err = os.Stat(filepath.Join(runDir, untrackedDir, "big.bin"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "big.bin over the cap was saved")
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
		assert.Equal(t, []bool{true, true, false}, saved, "saved")
	})

	t.Run("BinaryChange", func(t *testing.T) {
		dir := gitMustRepo(t, map[string]string{"w.bin": "\x00\x01\x02weights\xff\x00"})
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00\x09\x08new weights\xfe\x00\x00")
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{})
		gitNoWarnings(t, warnings)
		require.True(t, g.Dirty, "git = %+v", g)
		require.NotEmpty(t, g.Patch, "git = %+v", g)
		assert.Contains(t, gitMustRead(t, filepath.Join(runDir, patchName)), "GIT binary patch", "patch is not a binary patch")
		clone := gitMustApply(t, dir, runDir)
		got, want := gitMustRead(t, filepath.Join(clone, "w.bin")), gitMustRead(t, filepath.Join(dir, "w.bin"))
		assert.Equal(t, want, got, "w.bin after git apply")
		// go-git writes no binary patch: nothing to save, and a warning.
		runDir = t.TempDir()
		g, warnings = Git(ctx, dir, runDir, GitOptions{NoCLI: true})
		assert.True(t, g.Dirty, "go-git: git = %+v", g)
		assert.Empty(t, g.Patch, "go-git: git = %+v", g)
		_, err := os.Stat(filepath.Join(runDir, patchName))
		assert.ErrorIs(t, err, fs.ErrNotExist, "go-git: empty patch written")
		gitHasWarning(t, warnings, "cannot write binary patches: changes to w.bin")
		assert.Contains(t, g.PatchIncomplete, "w.bin", "go-git: PatchIncomplete, want the binary change named")
	})

	t.Run("DetachedHeadUsesHeadRef", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustRun(t, dir, "checkout", "-q", "--detach")
		sha := gitMustRun(t, dir, "rev-parse", "HEAD")
		for _, noCLI := range []bool{false, true} {
			g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{HeadRef: "feature/x", NoCLI: noCLI})
			assert.Equal(t, "feature/x", g.Branch, "noCLI=%v: git = %+v, want branch feature/x at %s", noCLI, g, sha)
			assert.Equal(t, sha, g.SHA, "noCLI=%v: git = %+v, want branch feature/x at %s", noCLI, g, sha)
			gitNoWarnings(t, warnings)
			g, warnings = Git(ctx, dir, t.TempDir(), GitOptions{NoCLI: noCLI})
			assert.Empty(t, g.Branch, "noCLI=%v, no HeadRef: git = %+v, want no branch", noCLI, g)
			assert.Equal(t, sha, g.SHA, "noCLI=%v, no HeadRef: git = %+v", noCLI, g)
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
			assert.Equal(t, want, g, "noCLI=%v: git", noCLI)
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
			assert.True(t, g.Worktree, "noCLI=%v: git = %+v", noCLI, g)
			assert.Equal(t, "feat", g.Branch, "noCLI=%v: git = %+v", noCLI, g)
			assert.Equal(t, gitMustRun(t, dir, "rev-parse", "HEAD"), g.SHA, "noCLI=%v: git = %+v", noCLI, g)
			assert.True(t, g.Dirty, "noCLI=%v: git = %+v", noCLI, g)
			assert.NotEmpty(t, g.Patch, "noCLI=%v: git = %+v", noCLI, g)
			assert.Contains(t, gitMustRead(t, filepath.Join(runDir, patchName)), "+changed in the worktree", "noCLI=%v: patch", noCLI)
		}
		g, _ := Git(ctx, dir, t.TempDir(), GitOptions{})
		assert.False(t, g.Worktree, "main worktree: git = %+v", g)
		assert.Equal(t, "main", g.Branch, "main worktree: git = %+v", g)
	})

	t.Run("SubdirectoryRoot", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(dir, "sub/x.txt"), "x changed\n")
		gitMustWrite(t, filepath.Join(dir, "sub/deeper/new.txt"), "new\n")
		runDir := t.TempDir()
		g, warnings := Git(ctx, filepath.Join(dir, "sub", "deeper"), runDir, GitOptions{})
		gitNoWarnings(t, warnings)
		assert.Equal(t, []record.UntrackedFile{{Path: "sub/deeper/new.txt", Size: 4, Saved: true}}, g.Untracked, "untracked")
		assert.Contains(t, gitMustRead(t, filepath.Join(runDir, patchName)), "--- a/sub/x.txt", "patch paths are not from the top")
		_, err := os.Stat(filepath.Join(runDir, untrackedDir, "sub/deeper/new.txt"))
		assert.NoError(t, err)
	})

	t.Run("RunDirInsideTreeNotListed", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		runDir := filepath.Join(dir, "myruns", "r1")
		gitMustWrite(t, filepath.Join(runDir, "params.yaml"), "lr: 1\n")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		g, _ := Git(ctx, dir, runDir, GitOptions{})
		assert.Equal(t, []record.UntrackedFile{{Path: "new.txt", Size: 4, Saved: true}}, g.Untracked, "untracked")
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
		require.NoError(t, os.Chmod(filepath.Join(dir, "run.sh"), 0o755))
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00new")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new file\n")
		gitMustWrite(t, filepath.Join(dir, "x.log"), "ignored\n")
		gitMustWrite(t, filepath.Join(dir, ".venv/lib/site.py"), "ignored\n")
		gitMustWrite(t, filepath.Join(dir, "sub/cache/c.txt"), "ignored\n")

		cli, _ := Git(ctx, dir, t.TempDir(), GitOptions{})
		runDir := t.TempDir()
		g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: true})
		assert.Equal(t, "go-git", g.Tool, "go-git's tool")
		assert.Equal(t, "git", cli.Tool, "the CLI's tool")
		assert.Contains(t, g.PatchIncomplete, "w.bin", "go-git's PatchIncomplete, want the binary file named")
		assert.Empty(t, cli.PatchIncomplete, "the CLI's PatchIncomplete")
		g.Tool, g.PatchIncomplete = cli.Tool, ""
		assert.Equal(t, cli, g, "the CLI's stamp (expected) against go-git's (actual)")
		assert.Len(t, warnings, 1, "warnings = %q, want one on the binary file", warnings)
		gitHasWarning(t, warnings, "w.bin")
		// The text changes apply; the binary one is the warning's.
		gitMustWrite(t, filepath.Join(dir, "w.bin"), "\x00old")
		clone := gitMustApply(t, dir, runDir)
		for _, name := range []string{"a.txt", "staged.txt", "run.sh", "w.bin"} {
			got, want := gitMustRead(t, filepath.Join(clone, name)), gitMustRead(t, filepath.Join(dir, name))
			assert.Equal(t, want, got, "%s after git apply", name)
		}
		if fi, err := os.Stat(filepath.Join(clone, "run.sh")); assert.NoError(t, err, "run.sh after git apply") {
			assert.NotZero(t, fi.Mode()&0o100, "run.sh mode after git apply: %v", fi.Mode())
		}
		_, err := os.Stat(filepath.Join(clone, "gone.txt"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "gone.txt after git apply, want deleted")
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
		assert.Equal(t, want, g, "git")
		gitHasWarning(t, warnings, "go-git cannot open")
		g, warnings = Git(ctx, dir, t.TempDir(), GitOptions{NoCLI: true})
		assert.Nil(t, g, "no CLI: git")
		gitHasWarning(t, warnings, "open repository")
	})

	t.Run("UntrackedOnlyIsDirty", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		for _, noCLI := range []bool{false, true} {
			runDir := t.TempDir()
			g, warnings := Git(ctx, dir, runDir, GitOptions{NoCLI: noCLI})
			gitNoWarnings(t, warnings)
			assert.True(t, g.Dirty, "noCLI=%v: git = %+v", noCLI, g)
			assert.Empty(t, g.Patch, "noCLI=%v: git = %+v", noCLI, g)
			assert.Len(t, g.Untracked, 1, "noCLI=%v: git = %+v", noCLI, g)
			_, err := os.Stat(filepath.Join(runDir, patchName))
			assert.ErrorIs(t, err, fs.ErrNotExist, "noCLI=%v: empty patch written", noCLI)
		}
	})

	t.Run("CLIFailsFallsBackToGoGit", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitMustRun(t, dir, "remote", "add", "origin", "https://user:tok3n@example.com/x.git")
		gitMustWrite(t, filepath.Join(dir, "new.txt"), "new\n")
		gitFakeOnPath(t, "echo \"fatal: unable to access 'https://user:tok3n@example.com/x.git/': denied\" >&2; exit 128")
		g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{})
		assert.Equal(t, "go-git", g.Tool, "git = %+v", g)
		assert.True(t, g.Dirty, "git = %+v", g)
		assert.NotEmpty(t, g.SHA, "git = %+v", g)
		gitHasWarning(t, warnings, "exit status 128: fatal: unable to access 'https://example.com/x.git/'")
		b, _ := json.Marshal(warnings)
		assert.NotContains(t, string(b), "tok3n", "warnings hold the token")
	})

	t.Run("CLIHangsTimesOut", func(t *testing.T) {
		dir := gitMustRepo(t, gitBaseFiles)
		gitFakeOnPath(t, "sleep 30")
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		g, warnings := Git(ctx, dir, t.TempDir(), GitOptions{})
		took := time.Since(start)
		assert.LessOrEqual(t, took, 5*time.Second, "StampGit took %v with a hung git", took)
		if assert.NotNil(t, g, "git = nil, want the SHA and no status") {
			assert.NotEmpty(t, g.SHA, "git = %+v, want the SHA and no status", g)
			assert.Empty(t, g.Tool, "git = %+v, want the SHA and no status", g)
		}
		gitHasWarning(t, warnings, "dirty state unknown")
		if g != nil {
			assert.Contains(t, g.PatchIncomplete, "dirty state unknown", "PatchIncomplete, want the unknown dirty state recorded")
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
			assert.Equal(t, "https://example.com/x.git", g.Remote, "noCLI=%v: remote", noCLI)
			b, err := json.Marshal(struct {
				G *record.Git
				W []string
			}{g, warnings})
			require.NoError(t, err)
			var saved []string
			err = filepath.WalkDir(runDir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					saved = append(saved, p)
					b = append(b, gitMustRead(t, p)...)
				}
				return err
			})
			require.NoError(t, err)
			for _, secret := range []string{"tok3n", "s3cr3tpw"} {
				assert.NotContains(t, string(b), secret, "noCLI=%v: %q found in the stamp or the run dir", noCLI, secret)
			}
			assert.Len(t, saved, 2, "noCLI=%v: want git.patch and notes.txt saved with the token redacted: %q", noCLI, saved)
			assert.Contains(t, string(b), "git push https://user:REDACTED@example.com/x.git", "noCLI=%v: want git.patch and notes.txt saved with the token redacted: %q", noCLI, saved)
			gitHasWarning(t, warnings, "held a remote's credentials")
			assert.Contains(t, g.Redacted, patchName, "noCLI=%v: Redacted, want git.patch and notes.txt", noCLI)
			assert.Contains(t, g.Redacted, "notes.txt", "noCLI=%v: Redacted, want git.patch and notes.txt", noCLI)
		}
	})
}

// gitFakeOnPath puts first on PATH a git that runs the shell script body.
func gitFakeOnPath(t *testing.T, body string) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "git"), []byte("#!/bin/sh\n"+body+"\n"), 0o755))
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
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	var listed []string
	wt.Filesystem = gitListFS{Filesystem: wt.Filesystem, listed: &listed}
	require.NoError(t, prune(repo, wt))
	listed = nil // gitPrune's own read of the ignore files does not count
	status, err := wt.Status()
	require.NoError(t, err)
	for _, d := range listed {
		assert.False(t, strings.HasPrefix(d, ".venv") || strings.HasPrefix(d, "data/raw"), "status listed ignored directory %s", d)
	}
	s := status.File("data/keep.txt")
	assert.Equal(t, gogit.Modified, s.Worktree, "tracked file in an ignored directory: status %q, want modified", s.Worktree)
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
			assert.Equal(t, tt.tracked, tracked, "tracked")
			assert.Equal(t, tt.untracked, untracked, "untracked")
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
			assert.Equal(t, tt.want, RedactURL(tt.in), "RedactURL(%q)", tt.in)
			_, secrets := splitCredentials(tt.in)
			assert.Equal(t, tt.secrets, secrets, "secrets of %q", tt.in)
		})
	}
}

func TestRedactText(t *testing.T) {
	got := redactText(`fatal: unable to access 'https://u:tok3n@host/x.git/': 403; also tok3n`, []string{"tok3n"})
	assert.Equal(t, `fatal: unable to access 'https://host/x.git/': 403; also REDACTED`, got, "gitRedactText")
}
