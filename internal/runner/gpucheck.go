package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/python"
)

// probeTimeout bounds the framework probe: importing TensorFlow takes
// seconds, a wedged driver takes for ever.
const probeTimeout = 2 * time.Minute

// Frameworks builds exp's venv when needed and asks its python what PyTorch
// and TensorFlow see.
func (p *Project) Frameworks(ctx context.Context, exp *config.Experiment) (*gpu.Frameworks, string, error) {
	v := p.Venv(exp)
	if _, err := v.Ensure(ctx, p.Out); err != nil {
		return nil, "", err
	}
	fw, err := p.probe(ctx, v.Python())
	return fw, v.Python(), err
}

func (p *Project) probe(ctx context.Context, python string) (*gpu.Frameworks, error) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	path, args, env := gpu.ProbeCommand(python, os.Environ())
	var out bytes.Buffer
	res, err := proc.Run(pctx, proc.Command{Path: path, Args: args, Env: env, Dir: p.Root, Output: &out})
	switch {
	case err != nil:
		return nil, fmt.Errorf("framework probe: %w", err)
	case res.Interrupted && ctx.Err() != nil:
		return nil, &proc.InterruptedError{What: "framework probe"}
	case res.Interrupted:
		return nil, fmt.Errorf("framework probe: %s did not finish within %s (importing torch or tensorflow hung)", python, probeTimeout)
	}
	fw, err := gpu.ParseFrameworks(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("framework probe with %s (exit status %d): %w", python, res.ExitCode, err)
	}
	return fw, nil
}

// GPUCheck runs the check scripts of the frameworks the venv has (PyTorch
// always, TensorFlow when it imports) with exp's params, writing their
// output under .magelab/gpu-check/, and returns every check. Only an
// interruption is an error: a script that fails is a failed check.
func (p *Project) GPUCheck(ctx context.Context, exp *config.Experiment) ([]gpu.Check, error) {
	fw, python, err := p.Frameworks(ctx, exp)
	if err != nil {
		if isInterrupted(err) || python == "" {
			return nil, err
		}
		p.Warn(err.Error()) // the check scripts will say more
	}
	dir := filepath.Join(p.Root, ".magelab", "gpu-check")
	params := filepath.Join(dir, "params.json")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(params, exp.Params.JSON(), 0o644); err != nil {
		return nil, fmt.Errorf("gpu:check: write params: %w", err)
	}
	scripts, checks := gpu.CheckPlan(fw)
	for _, s := range scripts {
		c, err := p.runCheck(ctx, python, s, params, filepath.Join(dir, s.Framework))
		if err != nil {
			return nil, err
		}
		checks = append(checks, c...)
	}
	return checks, nil
}

// runCheck runs one check script into out (emptied first; its output also
// goes to out/log.txt) and returns its checks.
func (p *Project) runCheck(ctx context.Context, python string, s gpu.Script, params, out string) ([]gpu.Check, error) {
	script, pythonPath, err := p.checkScript(s)
	if err != nil {
		return gpu.ScriptChecks(s.Framework, out, 0, fmt.Errorf("check script %s: %w", s.Path, err)), nil
	}
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(out, "log.txt"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Fprintf(p.Out, "gpu:check: %s\n", s.Path)
	path, args, env := gpu.CheckCommand(python, script, params, out, pythonPath, os.Environ())
	prefixed := NewPrefixWriter(p.Out, "["+s.Framework+"] ")
	res, err := proc.Run(ctx, proc.Command{Path: path, Args: args, Env: env, Dir: p.Root, Output: io.MultiWriter(log, prefixed)})
	prefixed.Flush()
	if res.Interrupted {
		return nil, &proc.InterruptedError{What: "gpu:check " + s.Path}
	}
	return gpu.ScriptChecks(s.Framework, out, res.ExitCode, err), nil
}

// checkScript is the check script to run and the directory its imports
// (lab, gpu) come from: the project's own under python/ when it has them
// (magelab's repository), else magelab's embedded copies, written under
// .magelab/gpu-check/python/ (any other repository).
func (p *Project) checkScript(s gpu.Script) (script, pythonPath string, err error) {
	own := filepath.Join(p.Root, s.Path)
	if _, err := os.Stat(own); err == nil {
		return own, filepath.Join(p.Root, "python"), nil
	}
	dir := filepath.Join(p.Root, ".magelab", "gpu-check", "python")
	err = fs.WalkDir(python.GPUChecks, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := python.GPUChecks.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(path)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		return "", "", fmt.Errorf("write magelab's check scripts to %s: %w", dir, err)
	}
	return filepath.Join(dir, strings.TrimPrefix(s.Path, "python/")), dir, nil
}
