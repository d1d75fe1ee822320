package ui

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Chart widths GET /api/runs/{id}/series and /gpu accept, in pixels.
const (
	defaultWidth = 1000
	maxWidth     = 20000
)

// seriesJSON is one downsampled series.
type seriesJSON struct {
	Name   string `json:"name"`
	Device *int   `json:"device,omitempty"` // GPU series: the device index
	Points int    `json:"points"`           // before downsampling
	X      floats `json:"x"`
	Y      floats `json:"y"`
}

type seriesAnswer struct {
	Width  int          `json:"width"`
	Series []seriesJSON `json:"series"`
}

// handleSeries answers GET /api/runs/{id}/series?names=a,b&width=N: the
// run's logged metrics (all when names is empty), each downsampled to
// about 2×width points that keep every bucket's extremes.
func (s *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	width, err := intParam(r.URL.Query().Get("width"), defaultWidth, 1, maxWidth, "width")
	if err != nil {
		writeError(w, err)
		return
	}
	ans, err := s.series1(r.PathValue("id"), splitNames(r.URL.Query().Get("names")), width)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, ans)
}

func (s *Server) series1(short string, names []string, width int) (*seriesAnswer, error) {
	rec, err := s.record(short)
	if err != nil {
		return nil, err
	}
	root, err := s.openRun(rec.ID)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	kept, cols, err := s.columns(root, rec.ID, names)
	if err != nil {
		return nil, err
	}
	ans := &seriesAnswer{Width: width, Series: []seriesJSON{}}
	for _, n := range kept {
		c := cols[n]
		x, y := Downsample(c.x, c.y, width)
		ans.Series = append(ans.Series, seriesJSON{Name: n, Points: len(c.x), X: x, Y: y})
	}
	return ans, nil
}

func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// floats is a JSON array of numbers in which NaN and ±Inf are null (gaps in
// a chart), written without reflection: a series is thousands of them.
type floats []float64

func (f floats) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(f)*10)
	b = append(b, '[')
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, ']'), nil
}
