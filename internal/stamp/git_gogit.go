package stamp

import (
	"bytes"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	gogit "github.com/go-git/go-git/v5"

	fdiff "github.com/go-git/go-git/v5/plumbing/format/diff"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/binary"
	"github.com/go-git/go-git/v5/utils/diff"
	"github.com/magelab/magelab/internal/record"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// statusGoGit fills the dirty state, patch and untracked files with go-git.
// Ignored directories are pruned from its walk (see gitPrunedFS); its patch
// is text only, so binary changes are left out with a warning.
func (st *repoStamp) statusGoGit(g *record.Git, repo *gogit.Repository) {
	if repo == nil {
		return
	}
	wt, err := repo.Worktree()
	if err != nil {
		st.warnf("git: %v", err)
		return
	}
	if err := prune(repo, wt); err != nil {
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
func (st *repoStamp) patchGoGit(repo *gogit.Repository, top string, paths []string) []byte {
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
	var p worktreePatch
	var binaries []string
	for _, name := range paths {
		from, fromData := treeFile(tree, name)
		to, toData := worktreeFile(top, name)
		if from == nil && to == nil || from != nil && to != nil && *from == *to {
			continue
		}
		if isBinary(fromData) || isBinary(toData) {
			binaries = append(binaries, name)
			continue
		}
		p = append(p, filePatch{from: from, to: to, chunks: lineChunks(string(fromData), string(toData))})
	}
	if len(binaries) > 0 {
		st.incompletef("go-git cannot write binary patches: changes to %s are not in %s", strings.Join(binaries, ", "), patchName)
	}
	var buf bytes.Buffer
	if err := fdiff.NewUnifiedEncoder(&buf, fdiff.DefaultContextLines).Encode(p); err != nil {
		st.incompletef("no patch: %v", err)
		return nil
	}
	return buf.Bytes()
}

// treeFile is a file of HEAD's tree and its content; nil when absent or
// not a file (a submodule).
func treeFile(tree *object.Tree, name string) (*patchFile, []byte) {
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
	return &patchFile{hash: f.Hash, mode: f.Mode, path: name}, b
}

// worktreeFile is a file of the worktree and its content as git stores
// it (a link's target); nil when absent or a directory.
func worktreeFile(top, name string) (*patchFile, []byte) {
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
	return &patchFile{hash: plumbing.ComputeHash(plumbing.BlobObject, b), mode: mode, path: name}, b
}

// isBinary tells binary content as git does: a NUL in the first 8000
// bytes.
func isBinary(b []byte) bool {
	bin, _ := binary.IsBinary(bytes.NewReader(b))
	return bin
}

// lineChunks is the line diff of two texts.
func lineChunks(from, to string) []fdiff.Chunk {
	var out []fdiff.Chunk
	for _, d := range diff.DoWithTimeout(from, to, callTimeout) {
		op := fdiff.Equal
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = fdiff.Delete
		case diffmatchpatch.DiffInsert:
			op = fdiff.Add
		}
		out = append(out, chunk{d.Text, op})
	}
	return out
}

// worktreePatch and its parts implement go-git's diff.Patch for a worktree,
// which go-git only diffs between commits.
type worktreePatch []fdiff.FilePatch

func (p worktreePatch) FilePatches() []fdiff.FilePatch { return p }

func (p worktreePatch) Message() string { return "" }

type filePatch struct {
	from, to *patchFile
	chunks   []fdiff.Chunk
}

func (p filePatch) IsBinary() bool { return false }

func (p filePatch) Files() (from, to fdiff.File) {
	if p.from != nil {
		from = p.from
	}
	if p.to != nil {
		to = p.to
	}
	return from, to
}

func (p filePatch) Chunks() []fdiff.Chunk { return p.chunks }

type patchFile struct {
	hash plumbing.Hash
	mode filemode.FileMode
	path string
}

func (f *patchFile) Hash() plumbing.Hash { return f.hash }

func (f *patchFile) Mode() filemode.FileMode { return f.mode }

func (f *patchFile) Path() string { return f.path }

type chunk struct {
	content string
	op      fdiff.Operation
}

func (c chunk) Content() string { return c.content }

func (c chunk) Type() fdiff.Operation { return c.op }

// prune hides ignored, untracked files and directories from go-git's
// status walk, which otherwise lists every file of an ignored .venv before
// dropping them. The rules are the repository's .gitignore files and
// info/exclude, plus the global and system excludes files.
func prune(repo *gogit.Repository, wt *gogit.Worktree) error {
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
	wt.Filesystem = prunedFS{Filesystem: wt.Filesystem, ignore: gitignore.NewMatcher(patterns), tracked: tracked}
	return nil
}

// prunedFS is a worktree whose directory listings leave out what is
// ignored and holds nothing tracked.
type prunedFS struct {
	billy.Filesystem
	ignore  gitignore.Matcher
	tracked map[string]bool // tracked files and their parent directories
}

func (f prunedFS) ReadDir(dir string) ([]os.FileInfo, error) {
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
