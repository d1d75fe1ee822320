package reproduce

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReproduceRefuses covers the runs whose code cannot be restored: each
// is a clear error naming the run and what to do, and leaves no worktree
// behind, also when it is found after the worktree was made.
func TestReproduceRefuses(t *testing.T) {
	f := newReproFixture(t)
	f.write("python/model.py", toyModel+"# an uncommitted change\n")
	f.write("python/helper.py", "BONUS = 1\n")
	dirty := f.train("")
	f.git("checkout", "--", "python/model.py")
	os.Remove(filepath.Join(f.root, "python/helper.py"))
	clean := f.train("")

	// Each case damages a copy of a run (a new run id, the record and
	// files of the original) and expects these words in the error.
	cases := []struct {
		name   string
		from   *record.Run
		damage func(r *record.Run, dir string)
		want   []string
	}{
		{"NoCommit", clean, func(r *record.Run, dir string) { r.Git = nil },
			[]string{"has no git commit recorded", "cannot be reproduced"}},
		{"CommitMissing", clean, func(r *record.Run, dir string) { r.Git.SHA = strings.Repeat("ab", 20); r.Git.Branch = "feature" },
			[]string{"abababab", "is not in this repository", "git fetch origin feature"}},
		{"MissingPatch", dirty, func(r *record.Run, dir string) { os.Remove(filepath.Join(dir, "git.patch")) },
			[]string{"uncommitted changes", "git.patch", "is missing", "runs:import"}},
		{"PatchNoLongerApplies", dirty, func(r *record.Run, dir string) {
			p := filepath.Join(dir, "git.patch")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), "return sum(data) * scale", "return sum(data) / scale", 1)), 0o644)
		}, []string{"no longer apply to commit", "git.patch", "git apply"}},
		{"MissingUntracked", dirty, func(r *record.Run, dir string) { os.RemoveAll(filepath.Join(dir, "untracked")) },
			[]string{"untracked file python/helper.py", "is missing"}},
		{"IncompleteDiff", clean, func(r *record.Run, dir string) {
			r.Git.PatchIncomplete = "go-git cannot write binary patches: changes to data.bin are not in git.patch"
		}, []string{"were not fully recorded", "data.bin"}},
		{"NotFinished", clean, func(r *record.Run, dir string) { r.Status = record.StatusFailed },
			[]string{"has status failed", "only a finished run"}},
		{"NoParams", clean, func(r *record.Run, dir string) {
			os.Remove(filepath.Join(dir, "params.json"))
			r.ParamsHash = "not the hash"
		}, []string{"params cannot be restored exactly"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := f.copyRun(c.from, c.damage)
			before := f.snapshot()
			_, err := f.reproduce(id, Options{})
			require.Error(t, err, "no error\n%s", f.out.String())
			t.Log(err)
			for _, w := range append(c.want, id) {
				assert.ErrorContains(t, err, w, "error lacks %q: %v", w, err)
			}
			var drift *DriftError
			assert.NotErrorAs(t, err, &drift, "a refusal is not a drift: %v", err)
			after := f.snapshot()
			assert.Equal(t, before, after, "the checkout changed:\n%s\n%s", before, after)
			f.noCheckoutLeft()
		})
	}

	// The ids of the runs of another repository are valid; their commits
	// are not here.
	t.Run("OtherRepository", func(t *testing.T) {
		other := newReproFixture(t)
		other.git("remote", "set-url", "origin", "https://example.com/lab/other.git")
		other.write("python/model.py", toyModel+"# another project\n")
		other.commit("another history")
		run := other.train("")
		copyDir(t, filepath.Join(other.root, "runs"), filepath.Join(f.root, "runs-other"))
		p := f.project()
		_, err := p.Ledger.Import(context.Background(), filepath.Join(f.root, "runs-other"), ledger.ImportOptions{})
		require.NoError(t, err)
		os.RemoveAll(filepath.Join(f.root, "runs-other"))
		_, err = f.reproduce(run.ID, Options{})
		t.Log(err)
		for _, w := range []string{run.Git.SHA, "is not in this repository", "recorded in a clone of https://example.com/lab/other.git",
			"this repository's origin is https://example.com/lab/toy.git", "git fetch https://example.com/lab/other.git " + run.Git.SHA} {
			assert.ErrorContains(t, err, w, "error lacks %q: %v", w, err)
		}
		f.noCheckoutLeft()
	})

	t.Run("NotARepository", func(t *testing.T) {
		os.Rename(filepath.Join(f.root, ".git"), filepath.Join(f.root, ".git-away"))
		defer os.Rename(filepath.Join(f.root, ".git-away"), filepath.Join(f.root, ".git"))
		_, err := f.reproduce(clean.ID, Options{})
		assert.ErrorContains(t, err, "is not in a git repository", "err %v", err)
	})

	t.Run("UnknownRun", func(t *testing.T) {
		_, err := f.reproduce("zzzzzz", Options{})
		assert.ErrorContains(t, err, `no run matches "zzzzzz"`, "err %v", err)
	})
}

// TestReproduceRemovesStaleCheckout: a checkout left by a reproduction that
// was killed (its lock released, nothing removed) is removed by the next
// one; a checkout in use is not.
func TestReproduceRemovesStaleCheckout(t *testing.T) {
	f := newReproFixture(t)
	run := f.train("")
	p := f.project()
	src, err := p.sourceOf(context.Background(), run)
	require.NoError(t, err)
	inUse, err := p.checkout(context.Background(), run, src)
	require.NoError(t, err)
	killed, err := p.checkout(context.Background(), run, src)
	require.NoError(t, err)
	killed.lock.Close() // the process died: its lock is released, its files stay
	_, err = os.Stat(filepath.Join(killed.Tree, "python", "train.py"))
	require.NoError(t, err)
	p.removeStale(context.Background(), src.top)
	_, err = os.Stat(killed.Dir)
	assert.ErrorIs(t, err, fs.ErrNotExist, "stale checkout %s not removed: %v", killed.Dir, err)
	_, err = os.Stat(inUse.Tree)
	assert.NoError(t, err, "checkout in use removed: %v", err)
	assert.Contains(t, f.out.String(), "left by a reproduction that was killed", "output:\n%s", f.out.String())
	require.NoError(t, inUse.Close())
	f.noCheckoutLeft()
}

// copyRun copies run r under a new id, damaged by damage, into the ledger.
func (f *reproFixture) copyRun(r *record.Run, damage func(r *record.Run, dir string)) string {
	f.t.Helper()
	p := f.project()
	id, err := record.NewID()
	require.NoError(f.t, err)
	copyDir(f.t, p.Ledger.RunDir(r.ID), p.Ledger.RunDir(id))
	cp := f.record(r.ID)
	cp.ID = id
	if cp.Git != nil {
		g := *cp.Git
		cp.Git = &g
	}
	damage(cp, p.Ledger.RunDir(id))
	f.writeRecord(cp)
	code := 0
	for _, ev := range []record.Event{
		{Run: id, Type: record.EventRunStarted, Time: cp.Started, Experiment: cp.Experiment, Key: cp.Key},
		{Run: id, Type: record.EventRunFinished, Time: cp.Started, Status: cp.Status, ExitCode: &code, Metrics: cp.Metrics},
	} {
		require.NoError(f.t, p.Ledger.Append(ev))
	}
	return id
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("cp", "-a", src, dst).CombinedOutput()
	require.NoError(t, err, "cp: %v\n%s", err, out)
}

// TestIncompleteDiffReadsTheStampNotItsWording: the stamp's warnings are
// for people and may be reworded; reproduce refuses a run whose diff was
// not fully recorded from the git.patch_incomplete field alone. The run
// here is stamped for real by go-git with a binary change (which go-git
// cannot write as a patch), and every one of its warnings is reworded:
// the check that matched warning text would have reproduced it.
func TestIncompleteDiffReadsTheStampNotItsWording(t *testing.T) {
	f := newReproFixture(t)
	f.write("data.bin", "\x00old")
	f.commit("a binary file")
	clean := f.train("")
	f.write("data.bin", "\x00new")
	g, warnings := stamp.Git(context.Background(), f.root, t.TempDir(), stamp.GitOptions{NoCLI: true})
	f.git("checkout", "--", "data.bin")
	require.NotNil(t, g)
	require.Contains(t, g.PatchIncomplete, "data.bin", "the go-git stamp records the binary change it could not save")
	require.NotEmpty(t, warnings)

	reworded := make([]string, len(warnings))
	for i, w := range warnings {
		reworded[i] = "note from the stamp: " + strings.ToUpper(w)
	}
	assert.NoError(t, warningTextCheck(reworded), "the old check should miss reworded warnings, or this test proves nothing")
	id := f.copyRun(clean, func(r *record.Run, dir string) {
		r.Git.Dirty, r.Git.PatchIncomplete, r.Warnings = true, g.PatchIncomplete, reworded
	})
	_, err := f.reproduce(id, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "were not fully recorded")
	assert.Contains(t, err.Error(), "data.bin")
	f.noCheckoutLeft()
}

// warningTextCheck is how reproduce decided before the stamp recorded the
// fact: by the wording of the stamp's warnings.
func warningTextCheck(warnings []string) error {
	for _, w := range warnings {
		if strings.HasPrefix(w, "git: no patch") || strings.HasPrefix(w, "git: dirty state unknown") ||
			strings.Contains(w, "cannot write binary patches") {
			return errors.New(w)
		}
	}
	return nil
}
