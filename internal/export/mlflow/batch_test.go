package mlflow

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBatches(t *testing.T) {
	mk := func(n int) []metric {
		out := make([]metric, n)
		for i := range out {
			out[i] = metric{Key: "loss", Value: flexFloat(i), Timestamp: 1, Step: flexInt(i)}
		}
		return out
	}
	kvs := func(n int, size int) []kv {
		out := make([]kv, n)
		for i := range out {
			out[i] = kv{Key: "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Value: strings.Repeat("v", size)}
		}
		return out
	}
	mark := &kv{Key: TagMark, Value: "v1 data=x files=y"}
	tests := []struct {
		name    string
		params  []kv
		tags    []kv
		metrics []metric
		last    *kv
		want    int
	}{
		{"NothingIsNoRequest", nil, nil, nil, nil, 0},
		{"OnlyTheMark", nil, nil, nil, mark, 1},
		{"MetricsPast1000", nil, nil, mk(2500), mark, 3},
		{"ParamsPast100", kvs(250, 10), nil, nil, nil, 3},
		{"TagsPast100", nil, kvs(101, 10), nil, nil, 2},
		{"EntitiesPast1000", kvs(100, 1), kvs(100, 1), mk(900), nil, 2},
		{"BytesPast1MB", kvs(100, 5900), kvs(100, 7900), nil, mark, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := batches(tt.params, tt.tags, tt.metrics, tt.last)
			require.Equal(t, tt.want, len(bs), "requests")
			var metrics []metric
			var params, tags []kv
			for _, b := range bs {
				// MLflow's limits, written out: the constants must not drift from them.
				assert.LessOrEqual(t, len(b.Metrics), 1000)
				assert.LessOrEqual(t, len(b.Params), 100)
				assert.LessOrEqual(t, len(b.Tags), 100)
				assert.LessOrEqual(t, b.entities(), 1000)
				body, _ := json.Marshal(map[string]any{"run_id": strings.Repeat("r", 32), "metrics": b.Metrics, "params": b.Params, "tags": b.Tags})
				assert.LessOrEqual(t, len(body), 1_000_000)
				metrics, params, tags = append(metrics, b.Metrics...), append(params, b.Params...), append(tags, b.Tags...)
			}
			assert.Equal(t, len(tt.metrics), len(metrics))
			assert.Equal(t, tt.metrics, metrics[:len(tt.metrics):len(tt.metrics)], "metrics keep their order")
			assert.Len(t, params, len(tt.params))
			if tt.last != nil {
				lastBatch := bs[len(bs)-1]
				assert.Equal(t, *tt.last, lastBatch.Tags[len(lastBatch.Tags)-1], "the mark is the very last entity")
				assert.Len(t, tags, len(tt.tags)+1)
			}
		})
	}
}
