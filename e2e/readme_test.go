package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/stretchr/testify/require"
)

// readmeNotRun are the README's commands this test leaves out, and why.
var readmeNotRun = map[string]string{
	"go test -count=1 -timeout 60m ./...": "it runs this very suite",
	"go tool mage sweep":                  "nine full trainings; TestWorkflows runs the same sweep through sweep.yml",
	"go tool mage ui":                     "it serves until stopped; internal/ui's TestBrowser drives the same server in Chromium",
}

// readmeElsewhere are the README's sections whose commands are for another
// repository than this one, and the test that runs them there.
var readmeElsewhere = map[string]string{
	"Use magelab in your own repository": "TestAdoptRealClient (e2e/adopt_real_test.go) runs them in a fresh repository that adopts magelab",
}

// TestReadmeCommands runs the shell commands of the README's sh blocks, as
// written and in order, in a clone of the project (ID placeholders become
// the ids of the runs made so far): the front page's commands must work.
func TestReadmeCommands(t *testing.T) {
	origin := workflowOrigin(t)
	work := filepath.Join(t.TempDir(), "work")
	gitIn(t, "", "clone", "-q", origin, work)
	env := runnerEnv(t)
	ran := 0
	for section, why := range readmeElsewhere {
		t.Logf("not run: the commands of %q (%s)", section, why)
	}
	for _, line := range readmeCommands(t, filepath.Join(origin, "README.md")) {
		if why, ok := readmeNotRun[line]; ok {
			t.Logf("not run: %s (%s)", line, why)
			continue
		}
		line = withRunIDs(t, work, line)
		cmd := exec.Command("bash", "-eo", "pipefail", "-c", line)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "README command %q:\n%s", line, out)
		ran++
		t.Logf("ran: %s", line)
	}
	require.GreaterOrEqual(t, ran, 8, "the README's commands run: did its sh blocks move?")
}

// readmeCommands are the lines of the README's ```sh blocks, comments cut.
func readmeCommands(t *testing.T, path string) []string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	in, elsewhere := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			elsewhere = readmeElsewhere[strings.TrimPrefix(line, "## ")] != ""
		case elsewhere:
			continue
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			if line = strings.TrimSpace(line); line != "" {
				out = append(out, line)
			}
		}
	}
	return out
}

// withRunIDs replaces the README's ID placeholders by run ids of work's
// ledger: "ID ID" by the two newest finished runs, ID by the newest.
func withRunIDs(t *testing.T, work, line string) string {
	if !strings.Contains(line, "ID") {
		return line
	}
	sums, _, err := ledger.Open(filepath.Join(work, "runs")).Summaries()
	require.NoError(t, err)
	var ids []string
	for i := len(sums) - 1; i >= 0; i-- {
		if sums[i].Status == record.StatusFinished {
			ids = append(ids, sums[i].ID)
		}
	}
	require.GreaterOrEqual(t, len(ids), 2, "%q needs two finished runs", line)
	line = strings.ReplaceAll(line, "ID ID", ids[0]+" "+ids[1])
	return strings.ReplaceAll(line, " ID", " "+ids[0])
}
