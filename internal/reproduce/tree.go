package reproduce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/stamp"
)

// source is where a run's code comes from, checked before anything is
// created: the commit in the user's repository, the patch of its
// uncommitted changes and its saved untracked files.
type source struct {
	top       string   // the top of the user's repository
	rel       string   // the project root relative to top
	sha       string   // the run's commit
	patch     string   // absolute path of the run's git.patch; "" when it had no tracked changes
	untracked []string // saved untracked files, relative to top, slash-separated
	runDir    string   // the run's directory, holding untracked/
	unsaved   []string // untracked files the run only listed (over the size cap)
	withheld  []string // untracked files never saved because they look like credentials (Git.Withheld)
}

// sourceOf checks that run's code can be restored in this repository and
// says from what. Every refusal names the run and what to do.
func (p *reproducer) sourceOf(ctx context.Context, run *record.Run) (source, error) {
	if err := gitAvailable(); err != nil {
		return source{}, err
	}
	if run.Git == nil || run.Git.SHA == "" {
		return source{}, fmt.Errorf("run %s has no git commit recorded (it was made outside a git repository, or before the first commit): its code cannot be restored, so it cannot be reproduced", run.ID)
	}
	src := source{sha: run.Git.SHA, runDir: p.Ledger.RunDir(run.ID)}
	top, err := git(ctx, p.Root, "rev-parse", "--show-toplevel")
	if err != nil {
		return src, fmt.Errorf("reproduce run %s: %s is not in a git repository (%v): run reproduce from a clone of the repository the run was made in", run.ID, p.Root, err)
	}
	src.top = top
	if src.rel, err = relReal(top, p.Root); err != nil {
		return src, err
	}
	if err := p.hasCommit(ctx, run, top); err != nil {
		return src, err
	}
	if err := incompleteDiff(run); err != nil {
		return src, err
	}
	if run.Git.Patch != "" {
		if !filepath.IsLocal(run.Git.Patch) {
			return src, fmt.Errorf("run %s: git.patch %q is not a file of its run directory", run.ID, run.Git.Patch)
		}
		src.patch = filepath.Join(src.runDir, run.Git.Patch)
		if _, err := os.Stat(src.patch); err != nil {
			return src, fmt.Errorf("run %s was made with uncommitted changes, saved in %s, but that file is missing (%v): its code cannot be restored. Copy the run's directory from where it was made (runs:import) and try again", run.ID, src.patch, err)
		}
	}
	for _, u := range run.Git.Untracked {
		switch {
		case !u.Saved && slices.Contains(run.Git.Withheld, u.Path):
			src.withheld = append(src.withheld, u.Path)
			continue
		case !u.Saved:
			src.unsaved = append(src.unsaved, u.Path)
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(u.Path)) {
			return src, fmt.Errorf("run %s: untracked file %q lies outside the repository", run.ID, u.Path)
		}
		saved := filepath.Join(src.runDir, "untracked", filepath.FromSlash(u.Path))
		if _, err := os.Stat(saved); err != nil {
			return src, fmt.Errorf("run %s was made with the untracked file %s, saved as %s, but that file is missing (%v): its code cannot be restored. Copy the run's directory from where it was made (runs:import) and try again", run.ID, u.Path, saved, err)
		}
		src.untracked = append(src.untracked, u.Path)
	}
	return src, nil
}

// hasCommit checks that the run's commit is in the repository at top, and
// otherwise says where the run was made and how to fetch it.
func (p *reproducer) hasCommit(ctx context.Context, run *record.Run, top string) error {
	sha := run.Git.SHA
	if _, err := git(ctx, top, "cat-file", "-e", sha+"^{commit}"); err == nil {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "run %s was made at commit %s", run.ID, sha)
	if run.Git.Branch != "" {
		fmt.Fprintf(&b, " (branch %s)", run.Git.Branch)
	}
	fmt.Fprintf(&b, ", which is not in this repository (%s)", top)
	origin, _ := git(ctx, top, "config", "--get", "remote.origin.url")
	origin = stamp.RedactURL(origin)
	recorded := run.Git.Remote
	switch {
	case recorded != "" && origin != "" && recorded != origin:
		fmt.Fprintf(&b, ". The run was recorded in a clone of %s, but this repository's origin is %s: reproduce it in a clone of %s, or fetch the commit: git fetch %s %s", recorded, origin, recorded, recorded, sha)
	case recorded != "" && origin == "":
		fmt.Fprintf(&b, ". The run was recorded in a clone of %s: fetch the commit with git fetch %s %s", recorded, recorded, sha)
	default:
		ref := sha
		if run.Git.Branch != "" {
			ref = run.Git.Branch
		}
		fmt.Fprintf(&b, ". Fetch it first: git fetch origin %s (it may have been rebased away or never pushed)", ref)
	}
	if shallow, _ := git(ctx, top, "rev-parse", "--is-shallow-repository"); shallow == "true" {
		b.WriteString("; this clone is shallow: git fetch --unshallow")
	}
	return errors.New(b.String())
}

// incompleteDiff refuses a run whose stamp recorded that its uncommitted
// changes were not all saved: restoring them would restore other code.
func incompleteDiff(run *record.Run) error {
	if run.Git == nil || run.Git.PatchIncomplete == "" {
		return nil
	}
	return fmt.Errorf("run %s's uncommitted changes were not fully recorded (git: %s): its code cannot be restored exactly, so it cannot be reproduced", run.ID, run.Git.PatchIncomplete)
}

// relReal is target relative to base, both with symbolic links resolved
// (git reports the top with them resolved).
func relReal(base, target string) (string, error) {
	b, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", err
	}
	t, err := filepath.EvalSymlinks(target)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(b, t)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", fmt.Errorf("project root %s is not inside its repository %s", target, base)
	}
	return rel, nil
}

// checkout is the temporary tree a reproduction runs from: a linked git
// worktree of the user's repository at the run's commit, with the run's
// patch applied and its untracked files restored, under
// .magelab/reproduce/<name>/tree. Beside it in <name>/ go the stage cache
// of the reproduction and, with -freshenv, its venv. <name>.lock is held
// while it is in use, so a later reproduction can tell a checkout left by a
// killed one from one in use. Close removes all of it.
type checkout struct {
	Dir  string // .magelab/reproduce/<name>
	Tree string // Dir/tree: the worktree's top
	Root string // the project root inside Tree
	top  string // the user's repository
	lock *os.File
}

// reproduceDir holds the checkouts of reproductions in progress.
func (p *reproducer) reproduceDir() string { return filepath.Join(p.Root, ".magelab", "reproduce") }

// checkout creates the temporary tree of src. On failure nothing is left.
func (p *reproducer) checkout(ctx context.Context, run *record.Run, src source) (*checkout, error) {
	base := p.reproduceDir()
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	p.removeStale(ctx, src.top)
	lock, err := os.CreateTemp(base, record.ShortID(run.ID)+"-*.lock")
	if err != nil {
		return nil, fmt.Errorf("reproduce: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		os.Remove(lock.Name())
		return nil, fmt.Errorf("reproduce: lock %s: %w", lock.Name(), err)
	}
	dir := strings.TrimSuffix(lock.Name(), ".lock")
	c := &checkout{Dir: dir, Tree: filepath.Join(dir, "tree"), top: src.top, lock: lock}
	c.Root = filepath.Join(c.Tree, src.rel)
	if err := c.fill(ctx, run, src); err != nil {
		if cerr := c.Close(); cerr != nil {
			fmt.Fprintf(p.Out, "warning: %v\n", cerr)
		}
		if ctx.Err() != nil {
			return nil, &proc.InterruptedError{What: "reproduce: check out run " + run.ID}
		}
		return nil, err
	}
	return c, nil
}

// fill checks the commit out into Tree, applies the patch and copies the
// untracked files in.
func (c *checkout) fill(ctx context.Context, run *record.Run, src source) error {
	if err := os.Mkdir(c.Dir, 0o755); err != nil {
		return fmt.Errorf("reproduce: %w", err)
	}
	if _, err := git(ctx, c.top, "worktree", "add", "--detach", "--quiet", c.Tree, src.sha); err != nil {
		return fmt.Errorf("reproduce run %s: check out commit %s: %w", run.ID, src.sha, err)
	}
	if src.patch != "" {
		if _, err := git(ctx, c.Tree, "apply", "--whitespace=nowarn", src.patch); err != nil {
			return fmt.Errorf("run %s: its uncommitted changes (%s) no longer apply to commit %s, so its code cannot be restored%s: %w", run.ID, src.patch, record.ShortSHA(src.sha), redactedHint(run), err)
		}
	}
	for _, rel := range src.untracked {
		from := filepath.Join(src.runDir, "untracked", filepath.FromSlash(rel))
		to := filepath.Join(c.Tree, filepath.FromSlash(rel))
		if _, err := os.Lstat(to); err == nil {
			return fmt.Errorf("run %s: its untracked file %s already exists at commit %s with its patch applied: the record is inconsistent", run.ID, rel, record.ShortSHA(src.sha))
		}
		if err := copyUntracked(from, to, executable(run, rel)); err != nil {
			return fmt.Errorf("run %s: restore untracked file %s: %w", run.ID, rel, err)
		}
	}
	return nil
}

// redactedHint explains a patch that does not apply because credentials
// in it were replaced when it was saved.
func redactedHint(run *record.Run) string {
	if slices.Contains(run.Git.Redacted, filepath.Base(run.Git.Patch)) {
		return " (credentials or secrets in it were replaced by REDACTED when it was saved)"
	}
	return ""
}

// executable reports whether the run recorded its untracked file rel as
// executable: saved copies are 0600, so the mode comes from the record.
func executable(run *record.Run, rel string) bool {
	for _, u := range run.Git.Untracked {
		if u.Path == rel {
			return u.Exec
		}
	}
	return false
}

// copyUntracked restores a saved untracked file: 0755 when the run
// recorded it as executable (or, for runs recorded before the Exec field,
// its saved copy kept the x bits), else 0644.
func copyUntracked(from, to string, exec bool) error {
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if exec || st.Mode()&0o111 != 0 {
		mode = 0o755
	}
	return os.WriteFile(to, b, mode)
}

// Close removes the worktree (and git's record of it), the venv and stage
// cache beside it, and the lock. It runs also when the reproduction was
// interrupted, so it does not use the reproduction's context.
func (c *checkout) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := removeCheckout(ctx, c.top, c.Dir)
	if c.lock != nil {
		os.Remove(c.lock.Name())
		c.lock.Close()
	}
	// .magelab/reproduce, and .magelab when the reproduction made it, if
	// nothing else is in them.
	os.Remove(filepath.Dir(c.Dir))
	os.Remove(filepath.Dir(filepath.Dir(c.Dir)))
	return err
}

// removeCheckout removes the checkout in dir: `git worktree remove` when
// git knows the worktree, else (or when that fails) the files and then
// git's stale record of it.
func removeCheckout(ctx context.Context, top, dir string) error {
	tree := filepath.Join(dir, "tree")
	var gitErr error
	if _, err := os.Stat(tree); err == nil {
		_, gitErr = git(ctx, top, "worktree", "remove", "--force", "--force", tree)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("reproduce: remove %s: %w", dir, err)
	}
	if gitErr != nil || registered(ctx, top, tree) {
		if _, err := git(ctx, top, "worktree", "prune"); err != nil {
			return fmt.Errorf("reproduce: remove worktree %s: %v; then %w", tree, gitErr, err)
		}
	}
	return nil
}

// registered reports whether git still lists a worktree at tree.
func registered(ctx context.Context, top, tree string) bool {
	out, err := git(ctx, top, "worktree", "list", "--porcelain")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "worktree "); ok && samePath(p, tree) {
			return true
		}
	}
	return false
}

func samePath(a, b string) bool {
	if a == b {
		return true
	}
	ra, err1 := filepath.EvalSymlinks(filepath.Dir(a))
	rb, err2 := filepath.EvalSymlinks(filepath.Dir(b))
	return err1 == nil && err2 == nil && filepath.Join(ra, filepath.Base(a)) == filepath.Join(rb, filepath.Base(b))
}

// removeStale removes the checkouts that reproductions killed before they
// could clean up left behind (kill -9, a second Ctrl-C): those whose lock
// is free. A checkout directory without a lock file is stale once it is a
// minute old (its reproduction died between the two).
func (p *reproducer) removeStale(ctx context.Context, top string) {
	base := p.reproduceDir()
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		dir := filepath.Join(base, name)
		switch {
		case strings.HasSuffix(name, ".lock"):
			if !lockFree(dir) {
				continue
			}
			dir = strings.TrimSuffix(dir, ".lock")
		case e.IsDir():
			if _, err := os.Stat(dir + ".lock"); err == nil || !olderThan(e, time.Minute) {
				continue
			}
		default:
			continue
		}
		if err := removeCheckout(ctx, top, dir); err != nil {
			p.Warn(err.Error())
			continue
		}
		os.Remove(dir + ".lock")
		rel, _ := filepath.Rel(p.Root, dir)
		fmt.Fprintf(p.Out, "reproduce: removed %s, left by a reproduction that was killed\n", rel)
	}
}

// lockFree reports whether nobody holds the lock file at path.
func lockFree(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}

func olderThan(e os.DirEntry, d time.Duration) bool {
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) > d
}
