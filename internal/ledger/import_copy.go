package ledger

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// copyRunDir copies the directory tree src to dst, which must not exist.
// Reads go through an os.Root of src, so a tree changed under our feet still
// cannot make us read outside it; symlinks are copied as links, to be judged
// by impCheckRun, and anything but files, directories and links is refused.
func copyRunDir(ctx context.Context, src, dst string) error {
	root, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		to := filepath.Join(dst, filepath.FromSlash(rel))
		switch t := d.Type(); {
		case t.IsDir():
			return os.Mkdir(to, 0o755)
		case t&fs.ModeSymlink != 0:
			target, err := root.Readlink(rel)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case t.IsRegular():
			return copyIn(ctx, root, rel, to)
		default:
			return fmt.Errorf("%s is a %s, not a file", rel, kindOf(t))
		}
	})
}

func copyIn(ctx context.Context, root *os.Root, rel, to string) error {
	in, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is a %s, not a file", rel, kindOf(st.Mode()))
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := copyCtx(ctx, out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", rel, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(to, st.ModTime(), st.ModTime())
}

// checkRunDir checks a staged run directory before it goes into place: only
// regular files, directories and relative symlinks that resolve (through
// any other links) to something inside the directory.
func checkRunDir(dir string) error {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch t := d.Type(); {
		case t.IsDir(), t.IsRegular():
			return nil
		case t&fs.ModeSymlink != 0:
			return checkLink(base, dir, rel)
		default:
			return fmt.Errorf("%s is a %s, not a file", rel, kindOf(t))
		}
	})
}

func checkLink(base, dir, rel string) error {
	path := filepath.Join(dir, rel)
	target, err := os.Readlink(path)
	if err != nil {
		return err
	}
	if filepath.IsAbs(target) {
		return fmt.Errorf("%s is a symlink to the absolute path %s, outside the run directory", rel, target)
	}
	if !isUnder(filepath.Join(filepath.Dir(rel), target), "") {
		return fmt.Errorf("%s is a symlink to %s, outside the run directory", rel, target)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("%s is a symlink to %s, which does not resolve: %w", rel, target, err)
	}
	if !isUnder(resolved, base) {
		return fmt.Errorf("%s is a symlink to %s, which leads outside the run directory through other links", rel, target)
	}
	return nil
}

// isUnder reports whether path is base or beneath it, lexically; with base
// "" it reports whether a relative path stays where it starts.
func isUnder(path, base string) bool {
	rel := filepath.Clean(path)
	if base != "" {
		var err error
		if rel, err = filepath.Rel(base, path); err != nil {
			return false
		}
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// kindOf names a file type for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device file"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "file"
	}
	return "special file (" + m.Type().String() + ")"
}

// copyCtx copies src to dst a megabyte at a time, stopping when ctx ends.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := io.CopyN(dst, src, 1<<20)
		n += k
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
