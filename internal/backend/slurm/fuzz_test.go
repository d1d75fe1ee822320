package slurm

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseScontrol feeds the scontrol and sacct readers arbitrary text:
// they must not panic, and every task they return has a name.
func FuzzParseScontrol(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("JobId=1 ArrayJobId=1 ArrayTaskId=0-99999999:1%2 JobState=PENDING\n")
	f.Add("1_[3-2]|1|PENDING|0:0|None|Unknown|Unknown|n|p\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, task := range append(parseScontrol(text), parseSacct(text)...) {
			if task.Name() == "" && task.Job != "" {
				t.Fatalf("a task without a name: %+v", task)
			}
		}
		parseSinfo(text)
	})
}
