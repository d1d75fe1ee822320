package ui

import (
	"encoding/csv"
	"errors"
	"io"
	"io/fs"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/magelab/magelab/internal/gpu"
)

// gpuMeasures are the columns of gpu.csv charted, by their header name.
var gpuMeasures = gpu.TelemetryHeader[3:]

// handleGPU answers GET /api/runs/{id}/gpu?width=N: the run's GPU samples
// (gpu.csv) as one series per device and measure (utilisation %, memory
// MiB, power W), x in seconds since the first sample.
func (s *Server) handleGPU(w http.ResponseWriter, r *http.Request) {
	width, err := intParam(r.URL.Query().Get("width"), defaultWidth, 1, maxWidth, "width")
	if err != nil {
		writeError(w, err)
		return
	}
	rec, err := s.record(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	root, err := s.openRun(rec.ID)
	if err != nil {
		writeError(w, err)
		return
	}
	defer root.Close()
	series, err := readGPU(root)
	if err != nil {
		writeError(w, err)
		return
	}
	for i := range series {
		series[i].Points = len(series[i].X)
		series[i].X, series[i].Y = Downsample(series[i].X, series[i].Y, width)
	}
	writeJSON(w, seriesAnswer{Width: width, Series: series})
}

// readGPU reads gpu.csv into series; a run without one has none.
func readGPU(root *os.Root) ([]seriesJSON, error) {
	f, err := root.Open("gpu.csv")
	if errors.Is(err, fs.ErrNotExist) {
		return []seriesJSON{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	byKey := map[[2]int]*seriesJSON{}
	var keys [][2]int
	var t0 time.Time
	for first := true; ; first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(rec) != len(gpu.TelemetryHeader) || (first && rec[0] == gpu.TelemetryHeader[0]) {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, rec[0])
		dev, err2 := strconv.Atoi(rec[1])
		if err != nil || err2 != nil {
			continue
		}
		if t0.IsZero() {
			t0 = t
		}
		for m := range gpuMeasures {
			k := [2]int{dev, m}
			sj := byKey[k]
			if sj == nil {
				d := dev
				sj = &seriesJSON{Name: gpuMeasures[m], Device: &d}
				byKey[k] = sj
				keys = append(keys, k)
			}
			v, err := strconv.ParseFloat(rec[3+m], 64)
			if err != nil {
				v = math.NaN()
			}
			sj.X, sj.Y = append(sj.X, t.Sub(t0).Seconds()), append(sj.Y, v)
		}
	}
	slices.SortFunc(keys, func(a, b [2]int) int {
		if a[1] != b[1] {
			return a[1] - b[1]
		}
		return a[0] - b[0]
	})
	out := make([]seriesJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out, nil
}
