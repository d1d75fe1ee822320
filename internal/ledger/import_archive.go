package ledger

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Archives for Import: CI artifacts come as .tar, .tar.gz/.tgz or .zip.

// extract extracts the archive src into dir, which it creates. An
// unreadable archive is an error and nothing of it is imported; an unsafe
// entry is skipped, reported, and taints the runs named in its path.
func extract(ctx context.Context, src, dir string, rep *ImportReport, opts ImportOptions) (map[string]string, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	kind := sniff(f)
	if kind == "" {
		return nil, fmt.Errorf("import %s: neither a directory nor a .tar, .tar.gz/.tgz or .zip archive", src)
	}
	if err := checkSize(ctx, f, kind, opts, filepath.Dir(filepath.Dir(dir))); err != nil { // the ledger's directory: dir is in its work directory
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer root.Close()
	x := &extractor{ctx: ctx, root: root, rep: rep, tainted: map[string]string{}, files: map[string]bool{}, links: map[string]string{}}
	switch kind {
	case "zip":
		err = x.zip(f)
	case "gzip":
		var gz *gzip.Reader
		if gz, err = gzip.NewReader(&ctxReader{ctx: ctx, r: f}); err == nil {
			err = x.tar(gz)
		}
	default:
		err = x.tar(&ctxReader{ctx: ctx, r: f})
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", src, err)
	}
	x.createLinks()
	return x.tainted, nil
}

// sniff tells archives apart by their first bytes, not their names: CI
// artifacts come with names of every kind.
func sniff(f *os.File) string {
	head := make([]byte, 512)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return "zip"
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "tar"
	}
	return ""
}

// extractor writes archive entries under root. Symlinks are created
// last, so that no entry is ever written through one.
type extractor struct {
	ctx     context.Context
	root    *os.Root
	rep     *ImportReport
	tainted map[string]string
	files   map[string]bool   // regular files written, which hard links may copy
	links   map[string]string // symlink name → target, created at the end
}

// archiveEntry is one archive entry, tar or zip.
type archiveEntry struct {
	name     string      // as the archive spells it
	kind     fs.FileMode // type bits: 0 for a regular file
	hardlink bool
	link     string // target of a symlink or hard link
	perm     fs.FileMode
	mtime    time.Time
	body     io.Reader
}

func (x *extractor) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return fmt.Errorf("read tar: %w", err)
		}
		e := archiveEntry{name: h.Name, link: h.Linkname, perm: fs.FileMode(h.Mode).Perm(), mtime: h.ModTime, body: tr}
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			e.kind = fs.ModeDir
		case tar.TypeSymlink:
			e.kind = fs.ModeSymlink
		case tar.TypeLink:
			e.hardlink = true
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeChar:
			e.kind = fs.ModeDevice | fs.ModeCharDevice
		case tar.TypeBlock:
			e.kind = fs.ModeDevice
		case tar.TypeFifo:
			e.kind = fs.ModeNamedPipe
		default:
			e.kind = fs.ModeIrregular
		}
		x.add(e)
	}
}

func (x *extractor) zip(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("read zip: %w", err)
	}
	for _, zf := range zr.File {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		x.zipEntry(zf)
	}
	return nil
}

func (x *extractor) zipEntry(zf *zip.File) {
	m := zf.Mode()
	e := archiveEntry{name: zf.Name, kind: m.Type(), perm: m.Perm(), mtime: zf.Modified}
	if strings.HasSuffix(zf.Name, "/") {
		e.kind = fs.ModeDir
	}
	if e.kind == 0 || e.kind == fs.ModeSymlink {
		rc, err := zf.Open()
		if err != nil {
			x.reject(zf.Name, err)
			return
		}
		defer rc.Close()
		e.body = rc
	}
	if e.kind == fs.ModeSymlink {
		target, err := io.ReadAll(io.LimitReader(e.body, 4096))
		if err != nil {
			x.reject(zf.Name, err)
			return
		}
		e.link = string(target)
	}
	x.add(e)
}

func (x *extractor) add(e archiveEntry) {
	name, err := entryName(e.name)
	if err == nil && name != "" {
		err = x.write(name, e)
	}
	if err != nil {
		x.reject(e.name, err)
	}
}

// write puts one entry whose name is already checked under the root.
func (x *extractor) write(name string, e archiveEntry) error {
	if link := x.underLink(name); link != "" {
		return fmt.Errorf("its path goes through the symlink %s", link)
	}
	switch {
	case e.hardlink:
		return x.hardlink(name, e.link)
	case e.kind == fs.ModeDir:
		return x.root.MkdirAll(name, 0o755)
	case e.kind == fs.ModeSymlink:
		return x.symlink(name, e.link)
	case e.kind == 0:
		return x.file(name, e.body, e.perm, e.mtime)
	}
	return fmt.Errorf("a %s: only files, directories and links are extracted", kindOf(e.kind))
}

func (x *extractor) file(name string, body io.Reader, perm fs.FileMode, mtime time.Time) error {
	if err := x.root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, perm|0o600)
	if err != nil {
		return err
	}
	if _, err := copyCtx(x.ctx, f, body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	x.files[name] = true
	if !mtime.IsZero() {
		x.root.Chtimes(name, mtime, mtime)
	}
	return nil
}

// hardlink extracts a hard link as a copy of the file it names, which must
// be a file of the archive already extracted.
func (x *extractor) hardlink(name, target string) error {
	clean, err := entryName(target)
	if err != nil {
		return fmt.Errorf("a hard link to %s: %w", target, err)
	}
	if !x.files[clean] {
		return fmt.Errorf("a hard link to %s, which is not a file extracted before it", target)
	}
	in, err := x.root.Open(clean)
	if err != nil {
		return err
	}
	defer in.Close()
	return x.file(name, in, 0o644, time.Time{})
}

// symlink records a link to create at the end; a target that is absolute
// or leaves the archive is refused now. Links inside a run directory get
// the stricter check of impCheckRun before the run is imported.
func (x *extractor) symlink(name, target string) error {
	switch {
	case target == "":
		return errors.New("a symlink with an empty target")
	case filepath.IsAbs(target):
		return fmt.Errorf("a symlink to the absolute path %s", target)
	case !isUnder(filepath.Join(filepath.Dir(name), target), ""):
		return fmt.Errorf("a symlink to %s, outside the archive", target)
	}
	x.links[name] = target
	return nil
}

func (x *extractor) createLinks() {
	names := make([]string, 0, len(x.links))
	for name := range x.links {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		err := x.root.MkdirAll(filepath.Dir(name), 0o755)
		if link := x.underLink(name); link != "" {
			err = fmt.Errorf("its path goes through the symlink %s", link)
		}
		if err == nil {
			err = x.root.Symlink(x.links[name], name)
		}
		if err != nil {
			x.reject(name, err)
		}
	}
}

// underLink returns the symlink entry that is a parent of name, if any.
func (x *extractor) underLink(name string) string {
	for dir := filepath.Dir(name); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		if _, ok := x.links[dir]; ok {
			return dir
		}
	}
	return ""
}

// reject reports an entry and taints every run its path names.
func (x *extractor) reject(name string, err error) {
	x.rep.Rejected = append(x.rep.Rejected, fmt.Sprintf("archive entry %q: %v", name, err))
	for _, part := range strings.Split(name, "/") {
		if _, done := x.tainted[part]; validID(part) && !done {
			x.tainted[part] = fmt.Sprintf("its archive entry %q was rejected (%v)", name, err)
		}
	}
}

// entryName checks an archive entry's name and returns it cleaned; ""
// names the archive's root.
func entryName(name string) (string, error) {
	switch {
	case strings.ContainsRune(name, 0):
		return "", errors.New("its name holds a NUL byte")
	case strings.Contains(name, `\`):
		return "", errors.New(`its name holds a backslash (a Windows path?); archive names use "/"`)
	case strings.HasPrefix(name, "/"):
		return "", errors.New("its name is an absolute path")
	}
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", errors.New(`its name has a ".." element, which would leave the target directory`)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/"), nil
}
