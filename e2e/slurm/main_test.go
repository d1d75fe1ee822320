// Package slurm holds magelab's end-to-end tests on a real Slurm: a
// one-node cluster with two fake GPUs (gres on /dev/tty1 and /dev/tty2)
// that scripts/slurm-up.sh brings up once per test run (installing
// slurm-wlm and munge when they are missing), and temporary copies of this
// repository whose sweeps and runs go through sbatch, scontrol and scancel.
package slurm

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/magebuild"
	"github.com/magelab/magelab/internal/venv"
)

var (
	repoRoot   string
	magelabBin string // the targets, built once, as a fan-out backend builds them
	sharedVenv string // the test experiment's venv (no requirements), built once
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself
	}
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(filepath.Dir(wd))
	start := time.Now()
	up := exec.Command(filepath.Join(repoRoot, "scripts", "slurm-up.sh"))
	up.Stdout, up.Stderr = os.Stderr, os.Stderr
	if err := up.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e/slurm: scripts/slurm-up.sh: %v (the Slurm tests need root to install and start Slurm; -short skips them)\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e/slurm: Slurm up in %s\n", time.Since(start).Round(100*time.Millisecond))
	tmp, err := os.MkdirTemp("", "magelab-slurm-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	magelabBin = filepath.Join(tmp, "magelab")
	// Built as the backend builds the tasks' binary, so that the projects'
	// own builds find everything in Go's build cache, and under the same
	// lock as e2e's build of this repository, which runs at the same time.
	if err := magebuild.Compile(context.Background(), repoRoot, magelabBin, nil); err != nil {
		fmt.Fprintf(os.Stderr, "e2e/slurm: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e/slurm: magelab built in %s\n", time.Since(start).Round(100*time.Millisecond))
	sharedVenv = filepath.Join(tmp, "venv")
	if _, err := (venv.Venv{Dir: sharedVenv, Root: repoRoot}).Ensure(context.Background(), os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "e2e/slurm: venv: %v\n", err)
		return 1
	}
	return m.Run()
}

// project is a temporary copy of this repository's working tree with the
// test experiment in it.
type project struct {
	t   *testing.T
	dir string
	env []string
}

// newProject copies the files git would commit into a temporary directory
// and adds experiments/tiny.yaml: a command stage (python/tiny.sh) whose
// behaviour the params choose, with the sweep block and slurm block given.
func newProject(t *testing.T, blocks string) *project {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end on a real Slurm cluster")
	}
	dir := t.TempDir()
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-co", "--exclude-standard", "-z").Output()
	require.NoError(t, err)
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(repoRoot, rel)
		st, err := os.Lstat(src)
		if err != nil || !st.Mode().IsRegular() || strings.HasPrefix(rel, "e2e/") {
			continue
		}
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, rel), b, st.Mode().Perm()))
	}
	p := &project{t: t, dir: dir, env: []string{"MAGELAB_SLURM_POLL=300ms", "MAGELAB_PROGRESS_INTERVAL=2s", "MAGELAB_VENV=" + sharedVenv}}
	p.write("python/tiny.sh", tinyScript)
	p.write("experiments/tiny.yaml", "name: tiny\nstages:\n  train: {cmd: \"sh python/tiny.sh ${out}\", metrics: \"${out}/metrics.json\"}\n"+
		"train: {x: 1, sleep: 1, fail: 0, resumable: 0}\n"+blocks)
	return p
}

// tinyScript is the test's stage: it records what it was given (its GPUs,
// Slurm's ids, the resume directory) in seen.json, sleeps, fails when
// fail equals x, and writes score = x. With resumable, it sleeps until stopped on
// its first attempt, checkpointing on SIGINT or SIGTERM, and finishes at
// once on an attempt that finds the checkpoint.
const tinyScript = `#!/bin/sh
out=$1
eval "$(python3 -c 'import json,os; t=json.load(open(os.environ["MAGELAB_RUN_DIR"]+"/params.json"))["train"]; print(" ".join(k+"="+str(t[k]) for k in ("x","sleep","fail","resumable")))')"
printf '{"cuda": "%s", "job_gpus": "%s", "job": "%s", "task": "%s", "resume": "%s", "start": %s}\n' \
  "${CUDA_VISIBLE_DEVICES-unset}" "${SLURM_JOB_GPUS-unset}" "${SLURM_JOB_ID-}" "${SLURM_ARRAY_TASK_ID-}" "${MAGELAB_RESUME_DIR-}" "$(date +%s.%N)" > "$out/seen.json"
echo "first line of trial x=$x"
if [ "$resumable" = 1 ]; then
  if [ -n "${MAGELAB_RESUME_DIR-}" ] && [ -f "$MAGELAB_RESUME_DIR/checkpoint" ]; then
    echo "resumed from $MAGELAB_RESUME_DIR"
  else
    trap 'echo step > "$out/checkpoint"; exit 130' INT TERM
    i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  fi
else
  sleep "$sleep"
fi
date +%s.%N > "$out/end"
[ "$fail" = "$x" ] && { echo "trial x=$x fails on purpose" >&2; exit 3; }
printf '{"score": %s}\n' "$x" > "$out/metrics.json"
`

func (p *project) write(rel, content string) {
	p.t.Helper()
	path := filepath.Join(p.dir, rel)
	require.NoError(p.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(p.t, os.WriteFile(path, []byte(content), 0o644))
}

// result is one finished magelab command.
type result struct {
	out  string
	code int
}

// mage runs the magelab binary in the project with extra environment.
func (p *project) mage(args ...string) result {
	p.t.Helper()
	return p.mageEnv(nil, args...)
}

func (p *project) mageEnv(env []string, args ...string) result {
	p.t.Helper()
	cmd := exec.Command(magelabBin, args...)
	cmd.Dir = p.dir
	cmd.Env = append(append(os.Environ(), p.env...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	res := result{out: buf.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else {
		require.NoError(p.t, err, "magelab %v", args)
	}
	return res
}

// mustMage runs a command that must succeed.
func (p *project) mustMage(args ...string) result {
	p.t.Helper()
	r := p.mage(args...)
	require.Equal(p.t, 0, r.code, "magelab %v:\n%s", args, r.out)
	return r
}

// listed is a run as `runs -format=json` lists it.
type listed struct {
	ID      string             `json:"id"`
	Status  string             `json:"status"`
	Sweep   string             `json:"sweep"`
	Slurm   string             `json:"slurm"`
	Params  map[string]any     `json:"params"`
	Metrics map[string]float64 `json:"metrics"`
}

// runs lists the project's runs, newest first.
func (p *project) runs() []listed {
	p.t.Helper()
	r := p.mustMage("runs", "-exp=tiny", "-format=json", "-limit=0")
	var out []listed
	require.NoError(p.t, json.Unmarshal([]byte(r.out), &out), r.out)
	return out
}

// runRecord reads runs/<id>/run.json.
func (p *project) runRecord(id string) map[string]any {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "runs", id, "run.json"))
	require.NoError(p.t, err)
	var m map[string]any
	require.NoError(p.t, json.Unmarshal(b, &m))
	return m
}

// seen reads what run id's stage recorded of its environment.
func (p *project) seen(id string) map[string]any {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "runs", id, "out", "seen.json"))
	require.NoError(p.t, err)
	var m map[string]any
	require.NoError(p.t, json.Unmarshal(b, &m), string(b))
	return m
}

// squeue lists the jobs named name that Slurm holds (squeue).
func squeue(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("squeue", "--noheader", "--name="+name, "--format=%i %T").CombinedOutput()
	require.NoError(t, err, string(out))
	return strings.TrimSpace(string(out))
}

// waitFor polls cond every 200ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func x(r listed) int {
	v, _ := r.Params["train.x"].(float64)
	return int(v)
}
