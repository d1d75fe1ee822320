//go:build mage

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/gpu"
	"github.com/magelab/magelab/internal/runner"
)

// Gpu holds gpu:check.
type Gpu mg.Namespace

// The inventory is `gpu`, not `gpu:list`: as with RUNS, Go cannot name a
// function Gpu beside the namespace type, so it is GPU.

// probeTimeout bounds the framework probe: importing TensorFlow takes
// seconds, a wedged driver takes for ever.
const probeTimeout = 2 * time.Minute

// GPU lists the NVIDIA GPUs (index, name, memory, utilisation, driver, CUDA) and what PyTorch and TensorFlow in the venv see; -exp=NAME picks the venv's requirements.
func GPU(ctx context.Context, exp *string) error {
	inv, qerr := gpu.Query(ctx)
	if err := gpu.WriteInventory(os.Stdout, inv, qerr); err != nil {
		return err
	}
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok && qerr == nil {
		fmt.Printf("CUDA_VISIBLE_DEVICES=%q: runs see GPU %s\n", v, indices(gpu.Visible(inv, v, true)))
	}
	fmt.Println()
	p, e, err := load(exp, nil)
	if err != nil {
		return err
	}
	python, err := venvPython(ctx, p, e)
	if err != nil {
		return exit(err)
	}
	fw, err := probeFrameworks(ctx, p.Root, python)
	if err != nil {
		return exit(err)
	}
	return gpu.WriteFrameworks(os.Stdout, fw)
}

// Check runs the PyTorch GPU checks (and TensorFlow's when it imports) in the venv, prints a pass/fail table and fails when a GPU is present but a framework cannot use it: -exp=NAME (default gpu-check), -set="train.steps=100".
func (Gpu) Check(ctx context.Context, exp, set *string) error {
	name := deref(exp)
	if name == "" {
		name = "gpu-check"
	}
	p, e, err := load(&name, set)
	if err != nil {
		return err
	}
	inv, qerr := gpu.Query(ctx)
	if err := gpu.WriteInventory(os.Stdout, inv, qerr); err != nil {
		return err
	}
	visible, isSet := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	present := len(gpu.Visible(inv, visible, isSet)) > 0
	python, err := venvPython(ctx, p, e)
	if err != nil {
		return exit(err)
	}
	fw, err := probeFrameworks(ctx, p.Root, python)
	if err != nil {
		var stop *runner.InterruptedError
		if errors.As(err, &stop) {
			return exit(err)
		}
		fmt.Fprintln(os.Stderr, "warning:", err) // the check scripts will say more
	}
	dir := filepath.Join(p.Root, ".magelab", "gpu-check")
	params := filepath.Join(dir, "params.json")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(params, e.Params.JSON(), 0o644); err != nil {
		return fmt.Errorf("gpu:check: write params: %w", err)
	}
	scripts, checks := gpu.CheckPlan(fw)
	for _, s := range scripts {
		c, err := runCheck(ctx, p.Root, python, s, params, filepath.Join(dir, s.Framework))
		if err != nil {
			return exit(err)
		}
		checks = append(checks, c...)
	}
	fmt.Println()
	if err := gpu.WriteChecks(os.Stdout, checks, present); err != nil {
		return err
	}
	return exit(gpu.Verdict(checks, present))
}

// runCheck runs one check script into out (emptied first; its output also
// goes to out/log.txt) and returns its checks. Only an interruption is an
// error: a script that fails is a failed check.
func runCheck(ctx context.Context, root, python string, s gpu.Script, params, out string) ([]gpu.Check, error) {
	script := filepath.Join(root, s.Path)
	if _, err := os.Stat(script); err != nil {
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
	fmt.Printf("gpu:check: %s\n", s.Path)
	path, args, env := gpu.CheckCommand(python, script, params, out, os.Environ())
	prefixed := runner.NewPrefixWriter(os.Stdout, "["+s.Framework+"] ")
	res, err := runner.Run(ctx, runner.Command{Path: path, Args: args, Env: env, Dir: root, Output: io.MultiWriter(log, prefixed)})
	prefixed.Flush()
	if res.Interrupted {
		return nil, &runner.InterruptedError{What: "gpu:check " + s.Path}
	}
	return gpu.ScriptChecks(s.Framework, out, res.ExitCode, err), nil
}

// venvPython builds the experiment's venv when its requirements changed and
// returns its interpreter.
func venvPython(ctx context.Context, p *runner.Project, e *config.Experiment) (string, error) {
	v := p.Venv(e)
	if _, err := v.Ensure(ctx, os.Stdout); err != nil {
		return "", err
	}
	return v.Python(), nil
}

// probeFrameworks asks the venv's python what torch and TensorFlow see.
func probeFrameworks(ctx context.Context, root, python string) (*gpu.Frameworks, error) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	path, args, env := gpu.ProbeCommand(python, os.Environ())
	var out bytes.Buffer
	res, err := runner.Run(pctx, runner.Command{Path: path, Args: args, Env: env, Dir: root, Output: &out})
	switch {
	case err != nil:
		return nil, fmt.Errorf("framework probe: %w", err)
	case res.Interrupted && ctx.Err() != nil:
		return nil, &runner.InterruptedError{What: "framework probe"}
	case res.Interrupted:
		return nil, fmt.Errorf("framework probe: %s did not finish within %s (importing torch or tensorflow hung)", python, probeTimeout)
	}
	fw, err := gpu.ParseFrameworks(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("framework probe with %s (exit status %d): %w", python, res.ExitCode, err)
	}
	return fw, nil
}

// indices lists the devices' indices, "none" for none.
func indices(devices []gpu.Device) string {
	if len(devices) == 0 {
		return "none"
	}
	s := make([]string, len(devices))
	for i, d := range devices {
		s[i] = strconv.Itoa(d.Index)
	}
	return strings.Join(s, ", ")
}
