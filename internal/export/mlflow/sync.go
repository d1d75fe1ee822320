package mlflow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"sort"
)

// outcome is what syncing one run did.
type outcome int

const (
	unchanged outcome = iota
	created
	updated
	deleted // deleted in MLflow: left alone
)

// synced is the result of syncing one run.
type synced struct {
	Outcome      outcome
	RunID        string // the MLflow run's id
	ExperimentID string
	Uploaded     int64 // artifact bytes sent
	Warnings     []string
}

// syncRun makes the MLflow run of t hold what t says: it creates the run
// when have is nil, else sends only what have (the server's run, as a
// search returned it) lacks. parent is the MLflow id of its sweep's
// parent run, or "". The mark goes last; the status after it.
func (x *exporter) syncRun(ctx context.Context, exp *expState, t target, parent string, have *run) (synced, error) {
	tags := t.Tags
	if parent != "" {
		tags = append(append([]kv(nil), tags...), kv{Key: tagParent, Value: parent})
		sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	}
	want := markOf(t, tags)
	res := synced{Outcome: updated, ExperimentID: exp.ID}
	var got mark
	fresh := have != nil && have.created
	if fresh {
		res.RunID, res.Outcome = have.Info.RunID, created
	} else if have != nil {
		res.RunID = have.Info.RunID
		if have.Info.LifecycleStage == "deleted" {
			res.Outcome = deleted
			return res, nil
		}
		got = parseMark(tagValue(have.Data.Tags, TagMark))
		if got == want && statusDone(have.Info, t) {
			res.Outcome = unchanged
			return res, nil
		}
	} else {
		r, err := x.create(ctx, exp.ID, t)
		if err != nil {
			return res, err
		}
		have, res.RunID, res.Outcome = r, r.Info.RunID, created
		fresh = r.created
	}
	var params, sendTags []kv
	var metrics []metric
	if fresh || got.Data != want.Data {
		var err error
		params, sendTags, res.Warnings = paramTagDiff(t, tags, have)
		if metrics, err = x.metricDiff(ctx, t, have, fresh); err != nil {
			return res, err
		}
	}
	if x.level != ArtifactsNone && (fresh || got.Files != want.Files) {
		n, err := x.uploadFiles(ctx, t, have, fresh)
		res.Uploaded = n
		if err != nil {
			return res, err
		}
	}
	var last *kv
	if got != want {
		last = &kv{Key: TagMark, Value: want.String()}
	}
	for _, b := range batches(params, sendTags, metrics, last) {
		if err := x.c.logBatch(ctx, res.RunID, b); err != nil {
			return res, fmt.Errorf("run %s: %w", t.ID, err)
		}
	}
	if !statusDone(have.Info, t) && t.Status != "RUNNING" {
		if err := x.c.updateRun(ctx, res.RunID, t.Status, t.End); err != nil {
			return res, fmt.Errorf("run %s: %w", t.ID, err)
		}
	}
	return res, nil
}

// statusDone reports whether the server's run has t's status and end.
func statusDone(info runInfo, t target) bool {
	return info.Status == t.Status && (t.End == 0 || int64(info.EndTime) == t.End)
}

// create creates t's run, tagged with its magelab id. A create that
// failed in a way that may have reached the server (the connection broke
// before the answer came) is looked for by that tag before it is sent
// again, so that a retry never makes a second run.
func (x *exporter) create(ctx context.Context, experimentID string, t target) (*run, error) {
	tags := []kv{{Key: TagRunID, Value: t.ID}}
	var err error
	for attempt := 0; attempt <= len(x.c.backoff); attempt++ {
		var r *run
		if r, err = x.c.createRunOnce(ctx, experimentID, t.Name, t.Start, tags); err == nil {
			r.created = true
			return r, nil
		}
		if !retriable(err) || ctx.Err() != nil {
			break
		}
		found, serr := x.c.searchRuns(ctx, experimentID, runFilter(t.ID))
		if serr != nil {
			err = serr
			break
		}
		if len(found) > 0 {
			return &found[0], nil
		}
	}
	return nil, fmt.Errorf("run %s: %w", t.ID, err)
}

// paramTagDiff is what of t's params and tags the server's run lacks. A
// param the run holds with another value cannot be changed (MLflow's
// params are written once): it is left, with a warning.
func paramTagDiff(t target, tags []kv, have *run) (params, sendTags []kv, warnings []string) {
	hp := map[string]string{}
	for _, p := range have.Data.Params {
		hp[p.Key] = p.Value
	}
	for _, p := range t.Params {
		v, ok := hp[p.Key]
		switch {
		case !ok:
			params = append(params, p)
		case v != p.Value:
			warnings = append(warnings, fmt.Sprintf("run %s: param %s is %q in MLflow and %q here; MLflow's params cannot change, so it stays %q", t.ID, p.Key, v, p.Value, v))
		}
	}
	ht := map[string]string{}
	for _, tg := range have.Data.Tags {
		ht[tg.Key] = tg.Value
	}
	for _, tg := range tags {
		if v, ok := ht[tg.Key]; !ok || v != tg.Value {
			sendTags = append(sendTags, tg)
		}
	}
	return params, sendTags, warnings
}

// metricDiff is what of t's metric history the server's run lacks: all of
// it for a fresh run or a key the run has no value of; else the points its
// history does not hold (asked for key by key).
func (x *exporter) metricDiff(ctx context.Context, t target, have *run, fresh bool) ([]metric, error) {
	if fresh {
		return t.Metrics, nil
	}
	latest := map[string]bool{}
	for _, m := range have.Data.Metrics {
		latest[m.Key] = true
	}
	held := map[string]map[point]bool{}
	var out []metric
	for _, m := range t.Metrics {
		if !latest[m.Key] {
			out = append(out, m)
			continue
		}
		h, ok := held[m.Key]
		if !ok {
			hist, err := x.c.metricHistory(ctx, have.Info.RunID, m.Key)
			if err != nil {
				return nil, fmt.Errorf("run %s: %w", t.ID, err)
			}
			h = map[point]bool{}
			for _, p := range hist {
				h[pointOf(p)] = true
			}
			held[m.Key] = h
		}
		if !h[pointOf(m)] {
			out = append(out, m)
		}
	}
	return out, nil
}

// point is a metric value as the server keeps it apart from others.
type point struct {
	Step, Timestamp int64
	Value           uint64
}

func pointOf(m metric) point {
	return point{Step: int64(m.Step), Timestamp: int64(m.Timestamp), Value: math.Float64bits(float64(m.Value))}
}

// uploadFiles sends t's files to the run's artifact root: every one to a
// fresh run; else those the server lacks or holds with another size, and
// those that change in place (run.json).
func (x *exporter) uploadFiles(ctx context.Context, t target, have *run, fresh bool) (int64, error) {
	if len(t.Files) == 0 {
		return 0, nil
	}
	root, ok := artifactPath(have.Info.ArtifactURI)
	if !ok {
		return 0, fmt.Errorf("run %s: its MLflow artifact root %s is not proxied by the server: start it with --serve-artifacts, or export with -artifacts=none", t.ID, have.Info.ArtifactURI)
	}
	var held map[string]int64
	if !fresh {
		var err error
		if held, err = x.listAll(ctx, have.Info.RunID, t.Files); err != nil {
			return 0, fmt.Errorf("run %s: %w", t.ID, err)
		}
	}
	var sent int64
	for _, f := range t.Files {
		if size, ok := held[f.Path]; ok && size == f.Size && !f.Changes {
			continue
		}
		if err := x.c.upload(ctx, root+"/"+f.Path, f.open); err != nil {
			return sent, fmt.Errorf("run %s: upload %s: %w", t.ID, f.Path, err)
		}
		sent += f.Size
	}
	return sent, nil
}

// listAll lists the run's artifacts in the directories that files are in:
// artifact path → size.
func (x *exporter) listAll(ctx context.Context, runID string, files []file) (map[string]int64, error) {
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f.Path); ; d = path.Dir(d) {
			if d == "." {
				d = ""
			}
			dirs[d] = true
			if d == "" {
				break
			}
		}
	}
	out := map[string]int64{}
	listed := map[string]bool{}
	var list func(dir string) error
	list = func(dir string) error {
		if listed[dir] || !dirs[dir] {
			return nil
		}
		listed[dir] = true
		infos, err := x.c.listArtifacts(ctx, runID, dir)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.NotFound() {
				return nil
			}
			return err
		}
		for _, fi := range infos {
			if fi.IsDir {
				if err := list(fi.Path); err != nil {
					return err
				}
				continue
			}
			out[fi.Path] = int64(fi.FileSize)
		}
		return nil
	}
	return out, list("")
}

// tagValue is the value of tag key, or "".
func tagValue(tags []kv, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// runFilter is the search filter for the MLflow runs of one magelab run.
func runFilter(id string) string { return "tags.`" + TagRunID + "` = '" + id + "'" }

// magelabFilter finds every MLflow run magelab exported.
const magelabFilter = "tags.`" + TagRunID + "` LIKE '%'"
