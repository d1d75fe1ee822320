package stamp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/magelab/magelab/internal/gitcmd"
	"github.com/magelab/magelab/internal/record"
)

// GitOptions are the inputs of StampGit besides the tree.
type GitOptions struct {
	HeadRef  string // GITHUB_HEAD_REF or GITHUB_REF_NAME, read by the caller; the branch when HEAD is detached
	MaxFile  int64  // size cap per saved untracked file (0 → 1 MiB)
	MaxTotal int64  // cap for all saved untracked content (0 → 20 MiB)
	NoCLI    bool   // force the go-git fallback (tests)
	// Exclude are magelab's own directories (the ledger, .magelab, the
	// venv): files under them never make the tree dirty and are never
	// saved, whether or not the project's .gitignore names them.
	Exclude []string
	// Withhold adds to Withhold: the experiment's secrets.withhold.
	Withhold []string
}

const (
	patchName    = "git.patch"
	untrackedDir = "untracked"
	callTimeout  = 10 * time.Second
	maxListed    = 10000 // untracked files listed in run.json; more only counted in a warning
	// emptyTree is the SHA-1 empty tree: what a repository with no
	// commits yet is diffed against.
	emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
)

// Git records the repository containing root into runDir: it returns
// the Git stamp (nil when root is not in a git repository, or nothing of it
// could be read) and warnings for what could not be read. It writes
// runDir/git.patch when tracked files changed (`git diff --binary` against
// HEAD, so that `git apply` restores it) and copies untracked, not ignored
// files under runDir/untracked/<path> up to the caps. It never fails the
// run: problems become warnings. No credential of a remote URL is returned,
// warned or written: found in the patch or an untracked file, it is
// replaced by REDACTED.
func Git(ctx context.Context, root, runDir string, opts GitOptions) (*record.Git, []string) {
	if opts.MaxFile <= 0 {
		opts.MaxFile = 1 << 20
	}
	if opts.MaxTotal <= 0 {
		opts.MaxTotal = 20 << 20
	}
	st := &repoStamp{ctx: ctx, runDir: runDir, opts: opts}
	if !opts.NoCLI {
		_, err := exec.LookPath("git")
		st.cli = err == nil
	}
	g := st.stamp(root)
	for i, w := range st.warnings {
		st.warnings[i] = redactText(w, st.secrets)
	}
	if g != nil {
		g.PatchIncomplete = redactText(st.incomplete, st.secrets)
		g.Redacted = st.savedRedacted
	}
	return g, st.warnings
}

// repoStamp is one StampGit call in progress.
type repoStamp struct {
	ctx      context.Context
	runDir   string
	opts     GitOptions
	cli      bool     // the git CLI is on PATH and allowed
	secrets  []string // credentials of the remotes, hunted for in saved files
	warnings []string
	// incomplete says why the uncommitted changes are not all in the
	// patch (Git.PatchIncomplete); redacted lists the saved files whose
	// credentials were replaced (Git.Redacted). Reproduce reads these
	// fields, never the warnings' wording.
	incomplete    string
	savedRedacted []string
	scan          *scanner // made on the first file saved
}

// incompletef warns that the uncommitted changes are not all recorded, and
// records the first such reason as a fact.
func (st *repoStamp) incompletef(format string, args ...any) {
	st.warnf("git: "+format, args...)
	if st.incomplete == "" {
		st.incomplete = fmt.Sprintf(format, args...)
	}
}

func (st *repoStamp) warnf(format string, args ...any) {
	st.warnings = append(st.warnings, fmt.Sprintf(format, args...))
}

func (st *repoStamp) stamp(root string) *record.Git {
	repo, err := gogit.PlainOpenWithOptions(root, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		st.warnf("git: %s is not in a git repository", root)
		return nil
	}
	var g *record.Git
	var top string
	switch {
	case err == nil:
		g, top = st.headGoGit(repo)
	case st.cli: // e.g. extensions go-git lacks: worktreeConfig, objectFormat=sha256
		st.warnf("git: go-git cannot open the repository (%v); read with the git CLI", err)
		g, top = st.headCLI(root)
		repo = nil
	default:
		st.warnf("git: open repository: %v", err)
	}
	if g == nil || top == "" {
		return g
	}
	if !st.cli || !st.statusCLI(g, top) {
		st.statusGoGit(g, repo)
	}
	return g
}

// headGoGit reads SHA, branch, remote, shallowness and the worktree's top
// with go-git.
func (st *repoStamp) headGoGit(repo *gogit.Repository) (*record.Git, string) {
	g := &record.Git{}
	if head, err := repo.Reference(plumbing.HEAD, false); err != nil {
		st.warnf("git: read HEAD: %v", err)
	} else if head.Type() == plumbing.SymbolicReference && head.Target().IsBranch() {
		g.Branch = head.Target().Short()
	} else {
		g.Branch = st.opts.HeadRef
	}
	switch head, err := repo.Head(); {
	case errors.Is(err, plumbing.ErrReferenceNotFound):
		st.warnf("git: repository has no commits yet")
	case err != nil:
		st.warnf("git: resolve HEAD: %v", err)
	default:
		g.SHA = head.Hash().String()
	}
	if shallow, err := repo.Storer.Shallow(); err != nil {
		st.warnf("git: read shallow commits: %v", err)
	} else {
		g.Shallow = len(shallow) > 0
	}
	if cfg, err := repo.Config(); err != nil {
		st.warnf("git: read config: %v", err)
	} else {
		g.Remote = st.remote(remoteURLs(cfg.Raw))
	}
	wt, err := repo.Worktree()
	if err != nil {
		st.warnf("git: %v", err)
		return g, ""
	}
	top := wt.Filesystem.Root()
	g.Worktree = linkedWorktree(top)
	return g, top
}

// remoteURLs lists each remote's first URL, in config order.
func remoteURLs(raw *config.Config) [][2]string {
	var out [][2]string
	for _, sub := range raw.Section("remote").Subsections {
		if u := sub.Option("url"); u != "" {
			out = append(out, [2]string{sub.Name, u})
		}
	}
	return out
}

// remote picks origin, else the first remote, redacted, and keeps the
// credentials of every remote to hunt for in saved files.
func (st *repoStamp) remote(remotes [][2]string) string {
	pick := ""
	for i, r := range remotes {
		red, secrets := splitCredentials(r[1])
		st.secrets = append(st.secrets, secrets...)
		if i == 0 || r[0] == "origin" {
			pick = red
		}
	}
	return pick
}

// linkedWorktree reports whether top is a linked worktree (`git worktree
// add`): its .git is a file pointing at a git dir with a commondir file. A
// submodule's .git file points at a git dir without one.
func linkedWorktree(top string) bool {
	b, err := os.ReadFile(filepath.Join(top, ".git"))
	if err != nil {
		return false
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
	if !ok {
		return false
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(top, dir)
	}
	_, err = os.Stat(filepath.Join(dir, "commondir"))
	return err == nil
}

// headCLI reads what headGoGit does with the git CLI, for the repositories
// go-git cannot open.
func (st *repoStamp) headCLI(root string) (*record.Git, string) {
	var out bytes.Buffer
	err := st.git(root, &out, "rev-parse", "--show-toplevel", "--is-shallow-repository", "--absolute-git-dir", "--git-common-dir")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err != nil || len(lines) != 4 {
		st.warnf("git: %v", err)
		return nil, ""
	}
	top, common := lines[0], lines[3]
	if !filepath.IsAbs(common) {
		common = filepath.Join(root, common)
	}
	g := &record.Git{Shallow: lines[1] == "true", Worktree: filepath.Clean(lines[2]) != filepath.Clean(common)}
	out.Reset()
	if st.git(top, &out, "symbolic-ref", "-q", "HEAD") == nil {
		g.Branch = strings.TrimPrefix(strings.TrimSpace(out.String()), "refs/heads/")
	} else {
		g.Branch = st.opts.HeadRef
	}
	out.Reset()
	if st.git(top, &out, "rev-parse", "-q", "--verify", "HEAD^{commit}") == nil {
		g.SHA = strings.TrimSpace(out.String())
	} else {
		st.warnf("git: repository has no commits yet")
	}
	out.Reset()
	if st.git(top, &out, "config", "-z", "--get-regexp", `^remote\..*\.url$`) == nil {
		g.Remote = st.remote(parseRemotes(out.String()))
	}
	return g, top
}

// parseRemotes reads `git config -z --get-regexp ^remote\..*\.url$`:
// remote.NAME.url\nURL\x00 per URL, in config order.
func parseRemotes(out string) [][2]string {
	var remotes [][2]string
	for _, kv := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		key, u, ok := strings.Cut(kv, "\n")
		if !ok {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(key, "remote."), ".url")
		remotes = append(remotes, [2]string{name, u})
	}
	return remotes
}

// git runs one git command in dir with a timeout, its stdout to w.
func (st *repoStamp) git(dir string, w io.Writer, args ...string) error {
	return gitcmd.Run(st.ctx, callTimeout, dir, w, args...)
}
