package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
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

	if run.Git == nil || len(run.Git.SHA) != 40 || run.Git.Branch != "main" || !run.Git.Dirty {
		t.Fatalf("git stamp: %+v", run.Git)
	}
	if run.Git.Remote != "https://example.com/lab/project.git" {
		t.Errorf("remote %q", run.Git.Remote)
	}
	untracked := map[string]bool{}
	for _, u := range run.Git.Untracked {
		untracked[u.Path] = u.Saved
	}
	if !untracked["python/plain/train.py"] {
		t.Errorf("untracked script not saved: %+v", run.Git.Untracked)
	}
	if got := p.read("runs/" + run.ID + "/untracked/python/plain/train.py"); !strings.Contains(got, "accuracy=0.5") {
		t.Errorf("saved untracked file: %q", got)
	}
	env := run.Env
	if env.PythonVersion == "" || env.OS == "" || env.Kernel == "" || env.Cores < 1 || env.RAMBytes == 0 || env.Hostname == "" || env.Magelab == "" {
		t.Errorf("env stamp incomplete: %+v", env)
	}
	if env.Vars["CUDA_VISIBLE_DEVICES"] != "3" || env.Vars["OMP_NUM_THREADS"] != "2" {
		t.Errorf("allow-listed vars: %v", env.Vars)
	}
	if freeze := p.read("runs/" + run.ID + "/" + env.PipFreeze); !strings.Contains(freeze, "torch==") {
		t.Errorf("pip freeze lacks torch:\n%.300s", freeze)
	}
	if run.Process.PID == 0 || run.Process.PIDStart == 0 || run.Process.Host == "" {
		t.Errorf("process stamp: %+v", run.Process)
	}
	if st, _ := run.Stage("train"); st.MaxRSS == 0 || st.UserSec+st.SysSec == 0 {
		t.Errorf("train stage resources: %+v", st)
	}
	mustContain(t, p.read("runs/ledger.jsonl"), `"params":{`, `"git":{"sha":"`+run.Git.SHA)

	// The token is nowhere under runs/, in any file.
	filepath.Walk(filepath.Join(p.dir, "runs"), func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), token) {
				t.Errorf("%s contains the token", path)
			}
		}
		return nil
	})
}
