package ledger

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ImportOptions bound what an import of an archive may write.
type ImportOptions struct {
	MaxFile  int64 // the largest file an archive may hold, uncompressed; 0: DefaultMaxFile
	MaxTotal int64 // all its files together; 0: DefaultMaxTotal. The free space bounds it too.
}

// The default caps: far above the largest run directories (checkpoints of
// a few GiB, a few of them per run), far below what fills a disk by
// surprise. A 2 MB zip that expands to 2 GB passes them only where 2 GB are
// free: the free space, less freeMargin, is a cap of its own.
const (
	DefaultMaxFile  = 16 << 30
	DefaultMaxTotal = 64 << 30
	freeMargin      = 256 << 20
)

func (o ImportOptions) withDefaults() ImportOptions {
	if o.MaxFile <= 0 {
		o.MaxFile = DefaultMaxFile
	}
	if o.MaxTotal <= 0 {
		o.MaxTotal = DefaultMaxTotal
	}
	return o
}

// checkSize reads the sizes an archive declares (a zip's central
// directory, a tar's headers) before anything of it is written, and
// refuses it when a file is over MaxFile, or all of them are over MaxTotal
// or over the free space of dir.
func checkSize(ctx context.Context, f *os.File, kind string, opts ImportOptions, dir string) error {
	total, err := archiveSize(ctx, f, kind, opts.MaxFile)
	if err != nil {
		return err
	}
	if total > opts.MaxTotal {
		return fmt.Errorf("it expands to %s, more than the %s an import may write; nothing of it was imported", size(total), size(opts.MaxTotal))
	}
	if free, ok := freeSpace(dir); ok && total > free-freeMargin {
		return fmt.Errorf("it expands to %s, and %s has %s free; nothing of it was imported: free some space first", size(total), dir, size(max(free, 0)))
	}
	return nil
}

// archiveSize sums the sizes of an archive's files; an entry over maxFile
// is an error naming it.
func archiveSize(ctx context.Context, f *os.File, kind string, maxFile int64) (int64, error) {
	var total int64
	add := func(name string, n int64) error {
		if n > maxFile {
			return fmt.Errorf("its entry %q expands to %s, more than the %s a file may have; nothing of it was imported", name, size(n), size(maxFile))
		}
		total += n
		return nil
	}
	if kind == "zip" {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		zr, err := zip.NewReader(f, st.Size())
		if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
			return 0, fmt.Errorf("read zip: %w", err)
		}
		for _, zf := range zr.File {
			if err := add(zf.Name, int64(min(zf.UncompressedSize64, 1<<62))); err != nil {
				return 0, err
			}
		}
		return total, nil
	}
	var r io.Reader = &ctxReader{ctx: ctx, r: f}
	if kind == "gzip" {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return 0, fmt.Errorf("read gzip: %w", err)
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return 0, fmt.Errorf("read tar: %w", err)
		}
		if h.Typeflag == tar.TypeReg {
			if err := add(h.Name, h.Size); err != nil {
				return 0, err
			}
		}
	}
}

// ctxReader reads r until ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// freeSpace is what an unprivileged process may still write under dir.
func freeSpace(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, false
	}
	return int64(st.Bavail) * st.Bsize, true
}

// size writes a byte count for people: 512 B, 3.2 MiB, 16 GiB.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}
