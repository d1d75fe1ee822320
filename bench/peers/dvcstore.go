package peers

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// writeDVCExps stores the runs as DVC experiments of the project in dir, in
// the shape `dvc exp run` leaves them: for each, a commit whose parent is
// the baseline (HEAD), whose tree is the baseline's with params.json,
// dvc.lock (params and the metrics file's hash) and train/metrics.json of
// that run, with DVC's commit message, under
// refs/exps/<baseline[:2]>/<baseline[2:]>/<name>. They are written with git
// fast-import because `dvc exp run` takes seconds each here: 10,000 would
// take hours. DVC reads these refs and trees as its own.
func writeDVCExps(ctx context.Context, dir string, env []string, runs []*synthRun) error {
	head, err := command{dir: dir, env: env, name: "git", args: []string{"rev-parse", "HEAD"}}.output(ctx)
	if err != nil {
		return err
	}
	base := strings.TrimSpace(string(head))
	lockText, err := os.ReadFile(filepath.Join(dir, "dvc.lock"))
	if err != nil {
		return fmt.Errorf("the DVC project has no dvc.lock (dvc repro makes it): %w", err)
	}
	var lock map[string]any
	if err := yaml.Unmarshal(lockText, &lock); err != nil {
		return fmt.Errorf("dvc.lock: %w", err)
	}
	cmd := exec.CommandContext(ctx, "git", "fast-import", "--quiet")
	cmd.Dir, cmd.Env = dir, env
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriterSize(in, 1<<20)
	for _, r := range runs {
		if err := dvcCommit(w, base, lock, r); err != nil {
			in.Close()
			cmd.Wait()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import: %w: %s", err, stderr.String())
	}
	return nil
}

// dvcCommit writes one experiment commit to the fast-import stream.
func dvcCommit(w io.Writer, base string, lock map[string]any, r *synthRun) error {
	params := nested(r.Params)
	metrics := mustJSON(r.Metrics)
	sum := md5.Sum([]byte(metrics))
	stages, _ := lock["stages"].(map[string]any)
	sections := map[string][]string{"setup-data": {"seed", "data"}, "preprocess": {"data"}, "train": {"train"}}
	for name, keys := range sections {
		st, _ := stages[name].(map[string]any)
		if st == nil {
			return fmt.Errorf("dvc.lock has no stage %q", name)
		}
		p := map[string]any{}
		for _, k := range keys {
			p[k] = params[k]
		}
		st["params"] = map[string]any{"params.json": p}
		if name == "train" {
			st["outs"] = []any{map[string]any{"path": "train/metrics.json", "hash": "md5", "md5": hex.EncodeToString(sum[:]), "size": len(metrics)}}
		}
	}
	lockOut, err := yaml.Marshal(lock)
	if err != nil {
		return err
	}
	ts := r.Started.Unix()
	msg := sha256.Sum256([]byte(r.ID))
	fmt.Fprintf(w, "commit refs/exps/%s/%s/%s\n", base[:2], base[2:], dvcExpName(r.ID))
	fmt.Fprintf(w, "author bench <bench@example.com> %d +0000\ncommitter bench <bench@example.com> %d +0000\n", ts, ts)
	blob(w, "dvc: commit experiment "+hex.EncodeToString(msg[:]))
	fmt.Fprintf(w, "from %s\n", base)
	for path, content := range map[string]string{"params.json": mustJSON(params), "train/metrics.json": metrics, "dvc.lock": string(lockOut)} {
		fmt.Fprintf(w, "M 100644 inline %s\n", path)
		blob(w, content)
	}
	_, err = fmt.Fprintln(w)
	return err
}

func blob(w io.Writer, s string) {
	fmt.Fprintf(w, "data %d\n%s\n", len(s), s)
}
