package gpu

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Sample is one row of a recording's CSV (runs/<id>/gpu.csv): one device
// at one tick. A value nvidia-smi did not report is nil.
type Sample struct {
	Time      time.Time
	Index     int
	UUID      string
	UtilPct   *float64
	MemoryMiB *float64
	PowerW    *float64
}

// ReadSamples reads the CSV a Recording wrote, in order. Rows whose time
// did not parse (the recording keeps nvidia-smi's own stamp then) or that
// are not samples are left out; a row cut short by a crash ends the read.
func ReadSamples(r io.Reader) ([]Sample, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var out []Sample
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("gpu telemetry CSV: %w", err)
		}
		if len(rec) != len(TelemetryHeader) || rec[0] == TelemetryHeader[0] {
			continue
		}
		s, ok := parseSample(rec)
		if ok {
			out = append(out, s)
		}
	}
}

func parseSample(rec []string) (Sample, bool) {
	at, err := time.Parse(csvTimestamp, rec[0])
	if err != nil {
		return Sample{}, false
	}
	idx, err := strconv.Atoi(rec[1])
	if err != nil {
		return Sample{}, false
	}
	s := Sample{Time: at, Index: idx, UUID: rec[2]}
	for i, dst := range []**float64{&s.UtilPct, &s.MemoryMiB, &s.PowerW} {
		if v := strings.TrimSpace(rec[3+i]); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return Sample{}, false
			}
			*dst = &f
		}
	}
	return s, true
}
