package magebuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/magelab/magelab/internal/durable"
	"github.com/magelab/magelab/internal/proc"
)

// Compile builds the targets of the project at root into the binary out.
// env is the build's environment (nil: this process's); CGO_ENABLED=0 and
// -trimpath are added to it. Mage reads a relative -compile path against
// magefiles/, so out is made absolute.
func Compile(ctx context.Context, root, out string, env []string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	unlock, err := lock(ctx, root)
	if err != nil {
		return err
	}
	defer unlock()
	if env == nil {
		env = os.Environ()
	}
	flags, _ := proc.LookupEnv(env, "GOFLAGS")
	env = append(append([]string{}, env...), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(flags+" -trimpath"))
	tmp := out + ".new"
	var log bytes.Buffer
	res, err := proc.Run(ctx, proc.Command{Path: "go", Args: []string{"tool", "mage", "-compile", tmp}, Env: env, Dir: root, Output: &log})
	if err != nil {
		return fmt.Errorf("go tool mage -compile in %s: %w", root, err)
	}
	if !res.OK() {
		os.Remove(tmp)
		return fmt.Errorf("go tool mage -compile %s in %s: %s:\n%s", tmp, root, res, strings.TrimSpace(log.String()))
	}
	return os.Rename(tmp, out)
}

// lock takes the build lock of the project at root: a file in the temp
// directory named for the root's path, so that nothing is written into the
// project. It gives up when ctx ends.
func lock(ctx context.Context, root string) (unlock func(), err error) {
	sum := sha256.Sum256([]byte(root))
	path := filepath.Join(os.TempDir(), "magelab-mage-compile-"+hex.EncodeToString(sum[:6])+".lock")
	f, err := durable.Lock(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("lock the mage build of %s (%s): %w", root, path, err)
	}
	return func() { f.Close() }, nil
}
