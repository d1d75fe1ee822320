package stamp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/config"
	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/binary"
	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/magelab/magelab/internal/gitcmd"
	"github.com/magelab/magelab/internal/record"
	"github.com/sergi/go-diff/diffmatchpatch"
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
}

const (
	gitPatchName    = "git.patch"
	gitUntrackedDir = "untracked"
	gitCallTimeout  = 10 * time.Second
	gitMaxListed    = 10000 // untracked files listed in run.json; more only counted in a warning
	// gitEmptyTree is the SHA-1 empty tree: what a repository with no
	// commits yet is diffed against.
	gitEmptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
)

// StampGit records the repository containing root into runDir: it returns
// the Git stamp (nil when root is not in a git repository, or nothing of it
// could be read) and warnings for what could not be read. It writes
// runDir/git.patch when tracked files changed (`git diff --binary` against
// HEAD, so that `git apply` restores it) and copies untracked, not ignored
// files under runDir/untracked/<path> up to the caps. It never fails the
// run: problems become warnings. No credential of a remote URL is returned,
// warned or written: found in the patch or an untracked file, it is
// replaced by REDACTED.
func StampGit(ctx context.Context, root, runDir string, opts GitOptions) (*record.Git, []string) {
	if opts.MaxFile <= 0 {
		opts.MaxFile = 1 << 20
	}
	if opts.MaxTotal <= 0 {
		opts.MaxTotal = 20 << 20
	}
	st := &gitStamp{ctx: ctx, runDir: runDir, opts: opts}
	if !opts.NoCLI {
		_, err := exec.LookPath("git")
		st.cli = err == nil
	}
	g := st.stamp(root)
	for i, w := range st.warnings {
		st.warnings[i] = gitRedactText(w, st.secrets)
	}
	if g != nil {
		g.PatchIncomplete = gitRedactText(st.incomplete, st.secrets)
		g.Redacted = st.redacted
	}
	return g, st.warnings
}

// gitStamp is one StampGit call in progress.
type gitStamp struct {
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
	incomplete string
	redacted   []string
}

// incompletef warns that the uncommitted changes are not all recorded, and
// records the first such reason as a fact.
func (st *gitStamp) incompletef(format string, args ...any) {
	st.warnf("git: "+format, args...)
	if st.incomplete == "" {
		st.incomplete = fmt.Sprintf(format, args...)
	}
}

func (st *gitStamp) warnf(format string, args ...any) {
	st.warnings = append(st.warnings, fmt.Sprintf(format, args...))
}

func (st *gitStamp) stamp(root string) *record.Git {
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
func (st *gitStamp) headGoGit(repo *gogit.Repository) (*record.Git, string) {
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
		g.Remote = st.remote(gitRemoteURLs(cfg.Raw))
	}
	wt, err := repo.Worktree()
	if err != nil {
		st.warnf("git: %v", err)
		return g, ""
	}
	top := wt.Filesystem.Root()
	g.Worktree = gitLinkedWorktree(top)
	return g, top
}

// gitRemoteURLs lists each remote's first URL, in config order.
func gitRemoteURLs(raw *config.Config) [][2]string {
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
func (st *gitStamp) remote(remotes [][2]string) string {
	pick := ""
	for i, r := range remotes {
		red, secrets := gitSplitCredentials(r[1])
		st.secrets = append(st.secrets, secrets...)
		if i == 0 || r[0] == "origin" {
			pick = red
		}
	}
	return pick
}

// gitLinkedWorktree reports whether top is a linked worktree (`git worktree
// add`): its .git is a file pointing at a git dir with a commondir file. A
// submodule's .git file points at a git dir without one.
func gitLinkedWorktree(top string) bool {
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
func (st *gitStamp) headCLI(root string) (*record.Git, string) {
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
		g.Remote = st.remote(gitParseRemotes(out.String()))
	}
	return g, top
}

// gitParseRemotes reads `git config -z --get-regexp ^remote\..*\.url$`:
// remote.NAME.url\nURL\x00 per URL, in config order.
func gitParseRemotes(out string) [][2]string {
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
func (st *gitStamp) git(dir string, w io.Writer, args ...string) error {
	return gitcmd.Run(st.ctx, gitCallTimeout, dir, w, args...)
}

// statusCLI fills the dirty state, patch and untracked files with one `git
// status` and one `git diff`, run side by side. It returns false when the
// status could not be read and go-git should try; a timeout or a cancelled
// run only warns, since go-git would be slower still.
func (st *gitStamp) statusCLI(g *record.Git, top string) bool {
	base := g.SHA
	if base == "" {
		base = gitEmptyTree
	}
	diffDone := make(chan error, 1)
	var patch bytes.Buffer
	go func() {
		diffDone <- st.git(top, &patch, "diff", "--binary", "--no-color", "--no-ext-diff", "--no-textconv",
			"--no-renames", "--src-prefix=a/", "--dst-prefix=b/", base, "--")
	}()
	var status bytes.Buffer
	err := st.git(top, &status, append([]string{"status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."}, st.excludeSpecs(top)...)...)
	diffErr := <-diffDone
	if err != nil {
		if st.ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
			st.incompletef("dirty state unknown: %v", err)
			return true
		}
		st.warnf("git: %v; read with go-git", err)
		return false
	}
	g.Tool = "git"
	tracked, untracked := gitParseStatus(status.Bytes())
	g.Dirty = tracked || len(untracked) > 0
	if diffErr != nil {
		st.incompletef("no patch: %v", diffErr)
	} else if tracked {
		st.writePatch(g, patch.Bytes())
	}
	st.saveUntracked(g, top, untracked)
	return true
}

// gitParseStatus reads `git status --porcelain=v1 -z`: whether any tracked
// file changed (staged or not), and the untracked paths. A rename or copy
// entry is followed by its source path, which is skipped.
func gitParseStatus(out []byte) (tracked bool, untracked []string) {
	entries := strings.Split(string(out), "\x00")
	for i := 0; i < len(entries); i++ {
		e := entries[i]
		if len(e) < 4 {
			continue
		}
		switch xy := e[:2]; {
		case xy == "??":
			untracked = append(untracked, e[3:])
		case xy == "!!":
		default:
			tracked = true
			if xy[0] == 'R' || xy[0] == 'C' {
				i++
			}
		}
	}
	return tracked, untracked
}

// writePatch writes the patch into the run dir, credentials replaced.
func (st *gitStamp) writePatch(g *record.Git, patch []byte) {
	if len(patch) == 0 {
		return
	}
	patch = st.scrub(gitPatchName, patch)
	if err := os.MkdirAll(st.runDir, 0o755); err != nil {
		st.incompletef("no patch: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(st.runDir, gitPatchName), patch, 0o644); err != nil {
		st.incompletef("no patch: %v", err)
		return
	}
	g.Patch = gitPatchName
}

// scrub replaces the remotes' credentials in b, with a warning naming the
// file.
func (st *gitStamp) scrub(name string, b []byte) []byte {
	found := false
	for _, s := range st.secrets {
		if bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte(gitRedacted))
			found = true
		}
	}
	if found {
		st.redacted = append(st.redacted, name)
		st.warnf("git: %s held a remote's credentials, saved with %s in their place", name, gitRedacted)
	}
	return b
}

// excluded are the run dir and GitOptions.Exclude that lie in the tree at
// top, as slash paths relative to it.
func (st *gitStamp) excluded(top string) []string {
	var out []string
	for _, dir := range append([]string{st.runDir}, st.opts.Exclude...) {
		if rel, err := filepath.Rel(top, dir); err == nil && filepath.IsLocal(rel) {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// excludeSpecs are git pathspecs that leave the excluded directories out.
func (st *gitStamp) excludeSpecs(top string) []string {
	var specs []string
	for _, rel := range st.excluded(top) {
		specs = append(specs, ":(exclude,literal)"+rel)
	}
	return specs
}

// isExcluded reports whether slash path p lies in one of dirs.
func isExcluded(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// saveUntracked lists the untracked files (paths relative to top) and
// copies the regular ones under the caps into runDir/untracked/. The run
// dir and the excluded directories are skipped when they lie in the tree.
func (st *gitStamp) saveUntracked(g *record.Git, top string, paths []string) {
	sort.Strings(paths)
	skip := st.excluded(top)
	var total int64
	dropped := 0
	for _, p := range paths {
		if isExcluded(p, skip) {
			continue
		}
		if len(g.Untracked) == gitMaxListed {
			dropped++
			continue
		}
		f := record.UntrackedFile{Path: p}
		fi, err := os.Lstat(filepath.Join(top, filepath.FromSlash(p)))
		if err == nil {
			f.Size = fi.Size()
		}
		// A path ending in / is a nested repository; links and the like
		// are listed, not followed.
		if err == nil && fi.Mode().IsRegular() && filepath.IsLocal(p) &&
			f.Size <= st.opts.MaxFile && total+f.Size <= st.opts.MaxTotal {
			f.Saved = st.copyUntracked(top, p, fi.Mode().Perm())
			if f.Saved {
				total += f.Size
			}
		}
		g.Untracked = append(g.Untracked, f)
	}
	if dropped > 0 {
		st.warnf("git: %d more untracked files not listed (the first %d are)", dropped, gitMaxListed)
	}
}

func (st *gitStamp) copyUntracked(top, p string, perm os.FileMode) bool {
	b, err := os.ReadFile(filepath.Join(top, filepath.FromSlash(p)))
	if err == nil {
		b = st.scrub(p, b)
		dst := filepath.Join(st.runDir, gitUntrackedDir, filepath.FromSlash(p))
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, b, perm|0o600)
		}
	}
	if err != nil {
		st.warnf("git: untracked file %s not saved: %v", p, err)
	}
	return err == nil
}

// statusGoGit fills the dirty state, patch and untracked files with go-git.
// Ignored directories are pruned from its walk (see gitPrunedFS); its patch
// is text only, so binary changes are left out with a warning.
func (st *gitStamp) statusGoGit(g *record.Git, repo *gogit.Repository) {
	if repo == nil {
		return
	}
	wt, err := repo.Worktree()
	if err != nil {
		st.warnf("git: %v", err)
		return
	}
	if err := gitPrune(repo, wt); err != nil {
		st.warnf("git: read ignore rules: %v", err)
	}
	status, err := wt.Status()
	if err != nil {
		st.warnf("git: go-git status: %v", err)
		return
	}
	g.Tool = "go-git"
	var tracked, untracked []string
	skip := st.excluded(wt.Filesystem.Root())
	for p, fs := range status {
		switch {
		case isExcluded(p, skip):
		case fs.Worktree == gogit.Untracked:
			untracked = append(untracked, p)
		case fs.Worktree != gogit.Unmodified || fs.Staging != gogit.Unmodified:
			tracked = append(tracked, p)
		}
	}
	g.Dirty = len(tracked)+len(untracked) > 0
	if len(tracked) > 0 {
		st.writePatch(g, st.patchGoGit(repo, wt.Filesystem.Root(), tracked))
	}
	st.saveUntracked(g, wt.Filesystem.Root(), untracked)
}

// patchGoGit is the unified diff of the tracked paths against HEAD.
func (st *gitStamp) patchGoGit(repo *gogit.Repository, top string, paths []string) []byte {
	var tree *object.Tree
	if head, err := repo.Head(); err == nil {
		c, err := repo.CommitObject(head.Hash())
		if err == nil {
			tree, err = c.Tree()
		}
		if err != nil {
			st.incompletef("no patch: read HEAD tree: %v", err)
			return nil
		}
	}
	sort.Strings(paths)
	var p gitPatch
	var binaries []string
	for _, name := range paths {
		from, fromData := gitTreeFile(tree, name)
		to, toData := gitWorktreeFile(top, name)
		if from == nil && to == nil || from != nil && to != nil && *from == *to {
			continue
		}
		if gitIsBinary(fromData) || gitIsBinary(toData) {
			binaries = append(binaries, name)
			continue
		}
		p = append(p, gitFilePatch{from: from, to: to, chunks: gitChunks(string(fromData), string(toData))})
	}
	if len(binaries) > 0 {
		st.incompletef("go-git cannot write binary patches: changes to %s are not in %s", strings.Join(binaries, ", "), gitPatchName)
	}
	var buf bytes.Buffer
	if err := fdiff.NewUnifiedEncoder(&buf, fdiff.DefaultContextLines).Encode(p); err != nil {
		st.incompletef("no patch: %v", err)
		return nil
	}
	return buf.Bytes()
}

// gitTreeFile is a file of HEAD's tree and its content; nil when absent or
// not a file (a submodule).
func gitTreeFile(tree *object.Tree, name string) (*gitPatchFile, []byte) {
	if tree == nil {
		return nil, nil
	}
	f, err := tree.File(name)
	if err != nil || !f.Mode.IsFile() {
		return nil, nil
	}
	r, err := f.Reader()
	if err != nil {
		return nil, nil
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, nil
	}
	return &gitPatchFile{hash: f.Hash, mode: f.Mode, path: name}, b
}

// gitWorktreeFile is a file of the worktree and its content as git stores
// it (a link's target); nil when absent or a directory.
func gitWorktreeFile(top, name string) (*gitPatchFile, []byte) {
	abs := filepath.Join(top, filepath.FromSlash(name))
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, nil
	}
	var b []byte
	mode := filemode.Regular
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		var target string
		target, err = os.Readlink(abs)
		b, mode = []byte(target), filemode.Symlink
	case fi.Mode().IsRegular():
		b, err = os.ReadFile(abs)
		if fi.Mode()&0o111 != 0 {
			mode = filemode.Executable
		}
	default:
		return nil, nil
	}
	if err != nil {
		return nil, nil
	}
	return &gitPatchFile{hash: plumbing.ComputeHash(plumbing.BlobObject, b), mode: mode, path: name}, b
}

// gitIsBinary tells binary content as git does: a NUL in the first 8000
// bytes.
func gitIsBinary(b []byte) bool {
	bin, _ := binary.IsBinary(bytes.NewReader(b))
	return bin
}

// gitChunks is the line diff of two texts.
func gitChunks(from, to string) []fdiff.Chunk {
	var out []fdiff.Chunk
	for _, d := range diff.DoWithTimeout(from, to, gitCallTimeout) {
		op := fdiff.Equal
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = fdiff.Delete
		case diffmatchpatch.DiffInsert:
			op = fdiff.Add
		}
		out = append(out, gitChunk{d.Text, op})
	}
	return out
}

// gitPatch and its parts implement go-git's diff.Patch for a worktree,
// which go-git only diffs between commits.
type gitPatch []fdiff.FilePatch

func (p gitPatch) FilePatches() []fdiff.FilePatch { return p }
func (p gitPatch) Message() string                { return "" }

type gitFilePatch struct {
	from, to *gitPatchFile
	chunks   []fdiff.Chunk
}

func (p gitFilePatch) IsBinary() bool { return false }
func (p gitFilePatch) Files() (from, to fdiff.File) {
	if p.from != nil {
		from = p.from
	}
	if p.to != nil {
		to = p.to
	}
	return from, to
}
func (p gitFilePatch) Chunks() []fdiff.Chunk { return p.chunks }

type gitPatchFile struct {
	hash plumbing.Hash
	mode filemode.FileMode
	path string
}

func (f *gitPatchFile) Hash() plumbing.Hash     { return f.hash }
func (f *gitPatchFile) Mode() filemode.FileMode { return f.mode }
func (f *gitPatchFile) Path() string            { return f.path }

type gitChunk struct {
	content string
	op      fdiff.Operation
}

func (c gitChunk) Content() string       { return c.content }
func (c gitChunk) Type() fdiff.Operation { return c.op }

// gitPrune hides ignored, untracked files and directories from go-git's
// status walk, which otherwise lists every file of an ignored .venv before
// dropping them. The rules are the repository's .gitignore files and
// info/exclude, plus the global and system excludes files.
func gitPrune(repo *gogit.Repository, wt *gogit.Worktree) error {
	patterns, err := gitignore.ReadPatterns(wt.Filesystem, nil)
	if err != nil {
		return err
	}
	root := osfs.New("/")
	for _, load := range []func(billy.Filesystem) ([]gitignore.Pattern, error){gitignore.LoadGlobalPatterns, gitignore.LoadSystemPatterns} {
		if ps, err := load(root); err == nil {
			patterns = append(patterns, ps...)
		}
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return err
	}
	tracked := map[string]bool{}
	for _, e := range idx.Entries {
		for p := e.Name; p != "." && !tracked[p]; p = path.Dir(p) {
			tracked[p] = true
		}
	}
	wt.Filesystem = gitPrunedFS{Filesystem: wt.Filesystem, ignore: gitignore.NewMatcher(patterns), tracked: tracked}
	return nil
}

// gitPrunedFS is a worktree whose directory listings leave out what is
// ignored and holds nothing tracked.
type gitPrunedFS struct {
	billy.Filesystem
	ignore  gitignore.Matcher
	tracked map[string]bool // tracked files and their parent directories
}

func (f gitPrunedFS) ReadDir(dir string) ([]os.FileInfo, error) {
	infos, err := f.Filesystem.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	dir = strings.Trim(filepath.ToSlash(dir), "/")
	kept := infos[:0]
	for _, fi := range infos {
		p := path.Join(dir, fi.Name())
		if f.tracked[p] || !f.ignore.Match(strings.Split(p, "/"), fi.IsDir()) {
			kept = append(kept, fi)
		}
	}
	return kept, nil
}
