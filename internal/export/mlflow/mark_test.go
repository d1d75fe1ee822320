package mlflow

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMark(t *testing.T) {
	tg := target{Status: "FINISHED", End: 5, Params: []kv{{"a", "1"}}, Metrics: []metric{{Key: "m", Value: 1, Step: 1}}, Files: []file{{Path: "run.json", Size: 3, Sum: "abc"}}}
	m := markOf(tg, nil)
	assert.Equal(t, m, parseMark(m.String()), "a mark reads back")
	assert.Equal(t, mark{}, parseMark(""))
	assert.Equal(t, mark{}, parseMark("v0 data=a files=b"))

	changed := tg
	changed.Metrics = append([]metric{}, tg.Metrics...)
	changed.Metrics = append(changed.Metrics, metric{Key: "test", Value: 2})
	assert.NotEqual(t, m.Data, markOf(changed, nil).Data, "a new metric changes the data half")
	assert.Equal(t, m.Files, markOf(changed, nil).Files)
	changed = tg
	changed.Files = []file{{Path: "run.json", Size: 3, Sum: "abd"}}
	assert.Equal(t, m.Data, markOf(changed, nil).Data)
	assert.NotEqual(t, m.Files, markOf(changed, nil).Files, "a changed file changes the files half")
	assert.NotEqual(t, m.Data, markOf(tg, []kv{{tagParent, "p"}}).Data, "the tags as sent count")
}

func FuzzParseMark(f *testing.F) {
	f.Add("v1 data=0123456789abcdef files=fedcba9876543210")
	f.Add("v1 data= files=")
	f.Add("v2 data=a files=b")
	f.Fuzz(func(t *testing.T, s string) {
		m := parseMark(s)
		if m != (mark{}) {
			assert.Equal(t, m, parseMark(m.String()), "a mark reads back as it was")
		}
	})
}
