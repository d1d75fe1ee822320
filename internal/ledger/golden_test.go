package ledger

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/record/recordtest"
)

// The on-disk formats (run.json, ledger lines) are compared with the files
// in testdata/golden; `go test ./internal/tracking -run Golden -update`
// rewrites them. A diff in review is then a format change, on purpose or not.

func TestGoldenRunJSON(t *testing.T) {
	l := Open(t.TempDir())
	require.NoError(t, l.WriteRecord(recordtest.GoldenRun()))
	got, err := os.ReadFile(filepath.Join(l.RunDir(recordtest.GoldenID), "run.json"))
	require.NoError(t, err)
	recordtest.CheckGolden(t, "run.json", got)
	back, err := l.ReadRecord(recordtest.GoldenID)
	require.NoError(t, err)
	assert.Equal(t, recordtest.GoldenRun(), back, "run.json does not read back as written")
}

func TestGoldenLedgerLines(t *testing.T) {
	l := Open(t.TempDir())
	for _, ev := range recordtest.GoldenEvents() {
		mustAppend(t, l, ev)
	}
	got, err := os.ReadFile(l.Path())
	require.NoError(t, err)
	recordtest.CheckGolden(t, "ledger.jsonl", got)
	back, warnings, err := l.Events()
	assert.NoError(t, err, "ledger does not read back as written")
	assert.Empty(t, warnings, "ledger does not read back as written")
	assert.Equal(t, recordtest.GoldenEvents(), back, "ledger does not read back as written")
}

// TestGoldenRunIsFull fails when a field is added to Run or Event without a
// value in the golden fixtures, whose files would then not show it.
func TestGoldenRunIsFull(t *testing.T) {
	for _, f := range unsetFields(reflect.ValueOf(*recordtest.GoldenRun()), "Run") {
		assert.Fail(t, "a field of Run is unset", "%s is not set in goldenRun: give it a value and run with -update", f)
	}
	set := map[string]bool{}
	for _, ev := range recordtest.GoldenEvents() {
		v := reflect.ValueOf(ev)
		for i := 0; i < v.NumField(); i++ {
			if !v.Field(i).IsZero() {
				set[v.Type().Field(i).Name] = true
			}
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(record.Event{})) {
		assert.True(t, set[f.Name], "Event.%s is set by none of goldenEvents: give it a value and run with -update", f.Name)
	}
}

// unsetFields lists the zero fields of a struct, looking into nested
// structs, pointers to them and the first element of slices.
func unsetFields(v reflect.Value, path string) []string {
	var out []string
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), path+"."+v.Type().Field(i).Name
		if f.IsZero() || (f.Kind() == reflect.Slice || f.Kind() == reflect.Map) && f.Len() == 0 {
			out = append(out, name)
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		if f.Kind() == reflect.Slice {
			f = f.Index(0)
		}
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
			out = append(out, unsetFields(f, name)...)
		}
	}
	return out
}
