package mlflow

import (
	"encoding/json"
)

// batch is one runs/log-batch request's entities.
type batch struct {
	Metrics []metric `json:"metrics"`
	Params  []kv     `json:"params"`
	Tags    []kv     `json:"tags"`
}

func (b batch) entities() int { return len(b.Metrics) + len(b.Params) + len(b.Tags) }

// batchOverhead is what a request holds besides its entities: the run id
// and the field names, with room to spare.
const batchOverhead = 1000

// batches splits params, tags and metrics into log-batch requests within
// MLflow's limits (1,000 metrics, 100 params, 100 tags, 1,000 entities and
// 1 MB per request), params first, then tags, then metrics in order (so
// that a run's history arrives oldest first). last, when not nil, is put
// at the very end of the last request: the export's mark, written only
// once everything before it was (MLflow writes a batch's params, then its
// metrics, then its tags). No entities and no last: no request.
func batches(params, tags []kv, metrics []metric, last *kv) []batch {
	var out []batch
	cur, size := batch{}, batchOverhead
	flush := func() {
		if cur.entities() > 0 {
			out = append(out, cur)
		}
		cur, size = batch{}, batchOverhead
	}
	fits := func(n int, full bool) bool {
		return !full && cur.entities() < maxBatchEntities && size+n+1 <= maxBatchBytes
	}
	for _, p := range params {
		n := jsonLen(p)
		if !fits(n, len(cur.Params) == maxBatchParams) {
			flush()
		}
		cur.Params, size = append(cur.Params, p), size+n+1
	}
	for _, t := range tags {
		n := jsonLen(t)
		if !fits(n, len(cur.Tags) == maxBatchTags) {
			flush()
		}
		cur.Tags, size = append(cur.Tags, t), size+n+1
	}
	for _, m := range metrics {
		n := jsonLen(m)
		if !fits(n, len(cur.Metrics) == maxBatchMetrics) {
			flush()
		}
		cur.Metrics, size = append(cur.Metrics, m), size+n+1
	}
	if last != nil {
		if n := jsonLen(*last); !fits(n, len(cur.Tags) == maxBatchTags) {
			flush()
		}
		cur.Tags = append(cur.Tags, *last)
	}
	flush()
	return out
}

// jsonLen is the length of v's JSON encoding.
func jsonLen(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}
