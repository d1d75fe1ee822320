package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunIsStamped trains in a real git repository whose remote URL holds a
// token, with a dirty tree: the record carries the commit, the patch, the
// environment and the process, and the token appears nowhere under runs/.
func TestRunIsStamped(t *testing.T) {
	p := newProject(t)
	const token = "ghp_s3cretTOKENvalue"
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = p.dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %v\n%s", args, err, out)
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "initial")
	git("remote", "add", "origin", "https://user:"+token+"@example.com/lab/project.git")
	p.write("python/plain/train.py", "print('accuracy=0.5')\n")
	p.write("experiments/stamped.yaml", `name: stamped
requirements: [python/requirements.txt]
stages:
  train: {cmd: "python python/plain/train.py"}
`)
	p.env = []string{"CUDA_VISIBLE_DEVICES=3", "AWS_SECRET_ACCESS_KEY=" + token, "OMP_NUM_THREADS=2"}
	p.mustMage("train", "-exp=stamped")
	run := p.onlyNewRun()

	require.NotNil(t, run.Git, "git stamp: %+v", run.Git)
	require.Len(t, run.Git.SHA, 40, "git stamp: %+v", run.Git)
	require.Equal(t, "main", run.Git.Branch, "git stamp: %+v", run.Git)
	require.True(t, run.Git.Dirty, "git stamp: %+v", run.Git)
	assert.Equal(t, "https://example.com/lab/project.git", run.Git.Remote, "remote %q", run.Git.Remote)
	untracked := map[string]bool{}
	for _, u := range run.Git.Untracked {
		untracked[u.Path] = u.Saved
	}
	assert.True(t, untracked["python/plain/train.py"], "untracked script not saved: %+v", run.Git.Untracked)
	got := p.read("runs/" + run.ID + "/untracked/python/plain/train.py")
	assert.Contains(t, got, "accuracy=0.5", "saved untracked file: %q", got)
	env := run.Env
	assert.NotEmpty(t, env.PythonVersion, "env stamp incomplete: %+v", env)
	assert.NotEmpty(t, env.OS, "env stamp incomplete: %+v", env)
	assert.NotEmpty(t, env.Kernel, "env stamp incomplete: %+v", env)
	assert.GreaterOrEqual(t, env.Cores, 1, "env stamp incomplete: %+v", env)
	assert.NotZero(t, env.RAMBytes, "env stamp incomplete: %+v", env)
	assert.NotEmpty(t, env.Hostname, "env stamp incomplete: %+v", env)
	assert.NotEmpty(t, env.Magelab, "env stamp incomplete: %+v", env)
	assert.Equal(t, "3", env.Vars["CUDA_VISIBLE_DEVICES"], "allow-listed vars: %v", env.Vars)
	assert.Equal(t, "2", env.Vars["OMP_NUM_THREADS"], "allow-listed vars: %v", env.Vars)
	freeze := p.read("runs/" + run.ID + "/" + env.PipFreeze)
	assert.Contains(t, freeze, "torch==", "pip freeze lacks torch:\n%.300s", freeze)
	assert.NotZero(t, run.Process.PID, "process stamp: %+v", run.Process)
	assert.NotZero(t, run.Process.PIDStart, "process stamp: %+v", run.Process)
	assert.NotEmpty(t, run.Process.Host, "process stamp: %+v", run.Process)
	st, _ := run.Stage("train")
	assert.NotZero(t, st.MaxRSS, "train stage resources: %+v", st)
	assert.NotZero(t, st.UserSec+st.SysSec, "train stage resources: %+v", st)
	mustContain(t, p.read("runs/ledger.jsonl"), `"params":{`, `"git":{"sha":"`+run.Git.SHA)

	// The token is nowhere under runs/, in any file.
	filepath.Walk(filepath.Join(p.dir, "runs"), func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			b, _ := os.ReadFile(path)
			assert.NotContains(t, string(b), token, "%s contains the token", path)
		}
		return nil
	})
}
