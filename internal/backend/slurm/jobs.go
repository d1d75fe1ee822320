package slurm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/magelab/magelab/internal/durable"
)

// Jobs is the record of a sweep's (or a run's) submissions, kept by the
// submitting side in jobs.json: which job array holds which trials, so that
// running the same command again finds them, and which runs it amended
// with Slurm's verdict.
type Jobs struct {
	ID          string       `json:"id"`
	Submissions []Submission `json:"submissions"`
	// Amended are the runs whose end the submitting side recorded from
	// Slurm's state (run id → the state), so that it does so once.
	Amended map[string]string `json:"amended,omitempty"`
}

// Submission is one sbatch: its job id and the trials (array task ids) it
// holds; a plain job holds trial 0.
type Submission struct {
	Job    string    `json:"job"`
	Trials []int     `json:"trials"`
	Array  bool      `json:"array"`
	Time   time.Time `json:"time"`
	Args   []string  `json:"sbatch"`
}

// readJobs reads jobs.json; none yet is an empty record.
func readJobs(path, id string) (*Jobs, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) { // never submitted (the preflight says why the directory is unusable)
		return &Jobs{ID: id}, nil
	}
	if err != nil {
		return nil, err
	}
	var j Jobs
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: %w (remove it to forget the submissions it records)", path, err)
	}
	return &j, nil
}

// write replaces jobs.json whole.
func (j *Jobs) write(path string) error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, append(b, '\n'))
}

// latest is the newest submission holding trial k, if any.
func (j *Jobs) latest(k int) (Submission, bool) {
	for i := len(j.Submissions) - 1; i >= 0; i-- {
		for _, t := range j.Submissions[i].Trials {
			if t == k {
				return j.Submissions[i], true
			}
		}
	}
	return Submission{}, false
}

// jobIDs are the job ids of every submission, oldest first.
func (j *Jobs) jobIDs() []string {
	var ids []string
	for _, s := range j.Submissions {
		ids = append(ids, s.Job)
	}
	return ids
}
