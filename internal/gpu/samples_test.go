package gpu

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadSamples(t *testing.T) {
	t.Run("RoundTripsARecording", func(t *testing.T) {
		var b strings.Builder
		rec := (*Sampler)(nil).Attach([]string{"GPU-a"}, &b)
		at := time.Date(2026, 11, 27, 3, 44, 31, 0, time.UTC)
		util, mem := 55.0, 2048.0
		rec.add(row{Time: at, Index: 1, UUID: "GPU-a", UtilPct: &util, MemoryMiB: &mem})
		rec.add(row{Stamp: "not a time", Index: 1, UUID: "GPU-a", UtilPct: &util})
		rec.Stop()

		got, err := ReadSamples(strings.NewReader(b.String()))
		require.NoError(t, err)
		require.Len(t, got, 1, "the row without a parsed time is left out")
		assert.True(t, got[0].Time.Equal(at))
		assert.Equal(t, 1, got[0].Index)
		assert.Equal(t, "GPU-a", got[0].UUID)
		assert.Equal(t, 55.0, *got[0].UtilPct)
		assert.Equal(t, 2048.0, *got[0].MemoryMiB)
		assert.Nil(t, got[0].PowerW, "an empty value is nil")
	})
	t.Run("TornLastRowIsLeftOut", func(t *testing.T) {
		csv := strings.Join(TelemetryHeader, ",") + "\n2026-11-27T03:44:31.000Z,0,GPU-a,10,1000,100\n2026-11-27T03:44:32.000Z,0,GPU"
		got, err := ReadSamples(strings.NewReader(csv))
		require.NoError(t, err)
		assert.Len(t, got, 1)
	})
}
