package stamp

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/magelab/magelab/internal/record"
)

// statusCLI fills the dirty state, patch and untracked files with one `git
// status` and one `git diff`, run side by side. It returns false when the
// status could not be read and go-git should try; a timeout or a cancelled
// run only warns, since go-git would be slower still.
func (st *repoStamp) statusCLI(g *record.Git, top string) bool {
	base := g.SHA
	if base == "" {
		base = emptyTree
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
	tracked, untracked := parseStatus(status.Bytes())
	g.Dirty = tracked || len(untracked) > 0
	if diffErr != nil {
		st.incompletef("no patch: %v", diffErr)
	} else if tracked {
		st.writePatch(g, patch.Bytes())
	}
	st.saveUntracked(g, top, untracked)
	return true
}

// parseStatus reads `git status --porcelain=v1 -z`: whether any tracked
// file changed (staged or not), and the untracked paths. A rename or copy
// entry is followed by its source path, which is skipped.
func parseStatus(out []byte) (tracked bool, untracked []string) {
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

// writePatch writes the patch into the run dir (0600), credentials and
// secrets replaced.
func (st *repoStamp) writePatch(g *record.Git, patch []byte) {
	if len(patch) == 0 {
		return
	}
	patch, err := st.clean(patchName, patch)
	if err == nil {
		err = os.MkdirAll(st.runDir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(st.runDir, patchName), patch, 0o600)
	}
	if err != nil {
		st.incompletef("no patch: %v", err)
		return
	}
	g.Patch = patchName
}

// scrub replaces the remotes' credentials in b, with a warning naming the
// file.
func (st *repoStamp) scrub(name string, b []byte) []byte {
	found := false
	for _, s := range st.secrets {
		if bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte(redactedMark))
			found = true
		}
	}
	if found {
		st.savedRedacted = append(st.savedRedacted, name)
		st.warnf("git: %s held a remote's credentials, saved with %s in their place", name, redactedMark)
	}
	return b
}

// excluded are the run dir and GitOptions.Exclude that lie in the tree at
// top, as slash paths relative to it.
func (st *repoStamp) excluded(top string) []string {
	var out []string
	for _, dir := range append([]string{st.runDir}, st.opts.Exclude...) {
		if rel, err := filepath.Rel(top, dir); err == nil && filepath.IsLocal(rel) {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

// excludeSpecs are git pathspecs that leave the excluded directories out.
func (st *repoStamp) excludeSpecs(top string) []string {
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
// copies the regular ones under the caps into runDir/untracked/, except
// those that look like credentials by their name (Withhold and
// GitOptions.Withhold), which are only listed, in Git.Withheld. The run
// dir and the excluded directories are skipped when they lie in the tree.
func (st *repoStamp) saveUntracked(g *record.Git, top string, paths []string) {
	sort.Strings(paths)
	skip := st.excluded(top)
	withhold := append(slices.Clone(Withhold), st.opts.Withhold...)
	var total int64
	dropped := 0
	for _, p := range paths {
		if isExcluded(p, skip) {
			continue
		}
		if len(g.Untracked) == maxListed {
			dropped++
			continue
		}
		f := record.UntrackedFile{Path: p}
		fi, err := os.Lstat(filepath.Join(top, filepath.FromSlash(p)))
		if err == nil {
			f.Size, f.Exec = fi.Size(), fi.Mode()&0o111 != 0 && fi.Mode().IsRegular()
		}
		pattern := withheldBy(strings.TrimSuffix(p, "/"), withhold)
		if pattern != "" {
			g.Withheld = append(g.Withheld, p)
			st.warnf("git: untracked %s looks like a credential (%s): not saved, and a reproduction runs without it", p, pattern)
		}
		// A path ending in / is a nested repository; links and the like
		// are listed, not followed.
		if err == nil && pattern == "" && fi.Mode().IsRegular() && filepath.IsLocal(p) &&
			f.Size <= st.opts.MaxFile && total+f.Size <= st.opts.MaxTotal {
			f.Saved = st.copyUntracked(top, p)
			if f.Saved {
				total += f.Size
			}
		}
		g.Untracked = append(g.Untracked, f)
	}
	if dropped > 0 {
		st.warnf("git: %d more untracked files not listed (the first %d are)", dropped, maxListed)
	}
}

// copyUntracked saves one untracked file, cleaned of secrets, readable by
// its owner only (0600): the run directory may be published (a CI
// artifact), and a mode says nothing of the content.
func (st *repoStamp) copyUntracked(top, p string) bool {
	b, err := os.ReadFile(filepath.Join(top, filepath.FromSlash(p)))
	if err == nil {
		b, err = st.clean(p, b)
	}
	if err == nil {
		dst := filepath.Join(st.runDir, untrackedDir, filepath.FromSlash(p))
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err == nil {
			err = os.WriteFile(dst, b, 0o600)
		}
	}
	if err != nil {
		st.warnf("git: untracked file %s not saved: %v", p, err)
	}
	return err == nil
}
