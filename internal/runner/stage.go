package runner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/config"
	"github.com/magelab/magelab/internal/proc"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/venv"
)

// stageSpec is everything needed to run one stage's process.
type stageSpec struct {
	Stage      config.Stage
	Root       string
	Python     string // the venv's interpreter
	Params     config.Params
	ParamsFile string
	In         string // upstream output; empty for the first stage
	Model      string // the train stage's output, for eval
	Out        string
	RunID      string
	RunDir     string
	BaseEnv    []string
	// ResumeDir is the output of an earlier attempt to resume from (the
	// train stage of a preempted trial's next attempt); "" when none.
	ResumeDir string
}

// stageCmd builds the command line and environment of a stage. It is pure:
// it reads no file and starts nothing.
func stageCmd(s stageSpec) (path string, args, env []string, err error) {
	env = stageEnv(s)
	if !s.Stage.IsCmd() {
		args = []string{filepath.Join(s.Root, s.Stage.Script), "--params", s.ParamsFile, "--out", s.Out}
		if s.In != "" {
			args = append(args, "--in", s.In)
		}
		if s.Model != "" {
			args = append(args, "--model", s.Model)
		}
		return s.Python, args, env, nil
	}
	line, err := s.Stage.Command(s.Params, s.templateVars())
	if err != nil {
		return "", nil, nil, fmt.Errorf("stage %s: %w", s.Stage.Name, err)
	}
	return "/bin/sh", []string{"-c", execSimple(line)}, env, nil
}

// execSimple prefixes a simple command line with exec, so that the shell
// becomes the command rather than its parent: the command then gets the
// stage's signals and dies with magelab (Pdeathsig) instead of outliving a
// killed magelab as the shell's orphan. Lines with operators, redirections,
// subshells, leading assignments or shell builtins are left as written.
func execSimple(line string) string {
	fields := strings.Fields(line)
	if len(fields) == 0 || strings.Contains(fields[0], "=") || shellWords[fields[0]] {
		return line
	}
	var quote rune
	for i, c := range line {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'', c == '"':
			quote = c
		case strings.ContainsRune(";&|<>()`\n\\#", c), c == '$' && strings.HasPrefix(line[i:], "$("):
			return line
		}
	}
	return "exec " + line
}

// shellWords are the first words exec cannot take: reserved words and the
// builtins that act on the shell itself.
var shellWords = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "fi": true, "case": true, "esac": true,
	"for": true, "while": true, "until": true, "do": true, "done": true, "{": true, "}": true, "!": true, "cd": true,
	"export": true, "set": true, "unset": true, ".": true, "source": true, "eval": true, "exit": true, "exec": true,
	"return": true, "alias": true, "ulimit": true, "umask": true, "trap": true, "shift": true, "read": true, "wait": true}

func (s stageSpec) templateVars() map[string]string {
	return map[string]string{"in": s.In, "out": s.Out, "run_dir": s.RunDir, "python": s.Python, "root": s.Root, "model": s.Model,
		"resume_dir": s.ResumeDir}
}

// StageEnv is the environment a process of the venv's python gets as a
// stage named name of run runID (in runDir) would: base with the venv first
// on PATH, the project's python/ first on PYTHONPATH and the MAGELAB_*
// variables of the contract. The server of `serve` runs in it too.
func StageEnv(name, root, python, runID, runDir string, base []string) []string {
	return stageEnv(stageSpec{Stage: config.Stage{Name: name}, Root: root, Python: python, RunID: runID, RunDir: runDir, BaseEnv: base})
}

// stageEnv is the stage's base environment as a child of the venv's python
// gets it (venv.ChildEnv): the project's python/ first on PYTHONPATH (so a
// stage script imports lab.py and its sibling packages wherever it lies)
// and the MAGELAB_* variables of the contract.
func stageEnv(s stageSpec) []string {
	pythonPath := ""
	if s.Root != "" {
		pythonPath = filepath.Join(s.Root, "python")
	}
	vars := map[string]string{"MAGELAB_STAGE": s.Stage.Name, "MAGELAB_RUN_ID": s.RunID, "MAGELAB_RUN_DIR": s.RunDir}
	if s.ResumeDir != "" {
		vars["MAGELAB_RESUME_DIR"] = s.ResumeDir
	}
	return venv.ChildEnv(s.Python, s.BaseEnv, pythonPath, nil, vars)
}

// runStage runs one stage: its output goes to the log file at logPath and,
// line by line with a stage prefix, to terminal. A failed or interrupted
// process is a *StageError carrying the end of the log.
func runStage(ctx context.Context, s stageSpec, logPath string, terminal io.Writer) (record.StageRecord, error) {
	rec := record.StageRecord{Name: s.Stage.Name, Started: time.Now().UTC(), Output: s.Out, Log: logPath}
	if err := os.WriteFile(s.ParamsFile, s.Params.JSON(), 0o644); err != nil {
		return rec, fmt.Errorf("stage %s: write params: %w", s.Stage.Name, err)
	}
	path, args, env, err := stageCmd(s)
	if err != nil {
		return rec, err
	}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return rec, err
	}
	file, err := createLog(logPath)
	if err != nil {
		return rec, fmt.Errorf("stage %s: create log: %w", s.Stage.Name, err)
	}
	log := &stageLog{f: file}
	defer log.Close()
	prefixed := NewPrefixWriter(terminal, "["+s.Stage.Name+"] ")
	res, err := proc.Run(ctx, proc.Command{Path: path, Args: args, Env: env, Dir: s.Root, Output: io.MultiWriter(log, prefixed)})
	prefixed.Flush()
	rec.Ended = time.Now().UTC()
	rec.LogIncomplete = log.cut()
	switch {
	case err != nil && res.Interrupted:
		// Stopped before its process could start (Ctrl-C, a sweep cancelling
		// its trials): interrupted, not a command that could not run.
		rec.ExitCode = proc.ExitInterrupted
		return rec, &StageError{Stage: s.Stage.Name, RunID: s.RunID, ExitCode: proc.ExitInterrupted, Log: logPath}
	case err != nil:
		rec.ExitCode = 127
		return rec, &StageError{Stage: s.Stage.Name, RunID: s.RunID, ExitCode: 127, Log: logPath, Err: err}
	}
	rec.ExitCode = res.ExitCode
	rec.MaxRSS, rec.UserSec, rec.SysSec = res.MaxRSS, res.UserTime.Seconds(), res.SysTime.Seconds()
	if res.Signal != 0 {
		rec.Signal = res.Signal.String()
	}
	if res.Interrupted {
		rec.ExitCode = proc.ExitInterrupted
	}
	if rec.ExitCode != 0 {
		log.sync()
		return rec, &StageError{Stage: s.Stage.Name, RunID: s.RunID, ExitCode: rec.ExitCode, Log: logPath, LogTail: tail(logPath, 15)}
	}
	return rec, nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 64*1024 {
		f.Seek(st.Size()-64*1024, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}
