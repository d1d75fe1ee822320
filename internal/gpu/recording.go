package gpu

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// TelemetryHeader is the first line of the CSV a Recording writes.
var TelemetryHeader = []string{"timestamp", "index", "uuid", "utilization_gpu_pct", "memory_used_mib", "power_w"}

// smiTimestamp is the layout of nvidia-smi's timestamp column (local time).
const smiTimestamp = "2006/01/02 15:04:05.000"

// csvTimestamp is the layout of the timestamp column a Recording writes.
const csvTimestamp = "2006-01-02T15:04:05.000Z07:00"

// row is one telemetry sample of one device.
type row struct {
	Time      time.Time // zero when nvidia-smi's timestamp did not parse
	Stamp     string    // the timestamp as nvidia-smi printed it
	Index     int
	UUID      string
	UtilPct   *float64
	MemoryMiB *float64
	PowerW    *float64
}

// parseRow reads one line of the sampler's output; ok is false for lines
// that are not telemetry rows (nvidia-smi's messages).
func parseRow(line string) (r row, ok bool) {
	f := strings.Split(line, ",")
	if len(f) != len(TelemetryHeader) {
		return row{}, false
	}
	for i := range f {
		f[i] = strings.TrimSpace(f[i])
	}
	var err error
	if r.Index, err = strconv.Atoi(f[1]); err != nil || !strings.HasPrefix(f[2], "GPU-") {
		return row{}, false
	}
	r.Stamp, r.UUID = f[0], f[2]
	r.Time, _ = time.ParseInLocation(smiTimestamp, f[0], time.Local)
	for i, dst := range []**float64{&r.UtilPct, &r.MemoryMiB, &r.PowerW} {
		if *dst, err = optFloat(TelemetryHeader[3+i], f[3+i]); err != nil {
			return row{}, false
		}
	}
	return r, true
}

// record is the row as the Recording's CSV holds it.
func (r row) record() []string {
	stamp := r.Stamp
	if !r.Time.IsZero() {
		stamp = r.Time.Format(csvTimestamp)
	}
	return []string{stamp, strconv.Itoa(r.Index), r.UUID, formatOpt(r.UtilPct), formatOpt(r.MemoryMiB), formatOpt(r.PowerW)}
}

func formatOpt(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// Summary sums up a Recording's rows. Samples counts rows (one per device
// per tick). PeakMemoryMiB is the highest memory use of any one device;
// MeanUtilPct, MaxUtilPct and MeanPowerW are over all rows that report the
// value; EnergyWh is ∫ power dt per device by the trapezoid rule on the rows'
// timestamps, summed over the devices (an interval with a missing value
// counts nothing).
type Summary struct {
	Samples       int     `json:"samples"`
	PeakMemoryMiB float64 `json:"peak_memory_mib"`
	MeanUtilPct   float64 `json:"mean_util_pct"`
	MaxUtilPct    float64 `json:"max_util_pct"`
	MeanPowerW    float64 `json:"mean_power_w"`
	EnergyWh      float64 `json:"energy_wh"`
}

// Recording receives the sampler's rows for some devices.
type Recording struct {
	s     *Sampler // nil for a recording of a nil Sampler
	uuids map[string]bool
	out   *csv.Writer
	err   error // the first write error; rows are dropped from then on

	sum             Summary
	utilSum, powSum float64
	utilN, powN     int
	last            map[string]row // per device, the last row with a time and a power
	stopped         bool
}

// Attach starts a recording of the rows for the devices with these UUIDs
// (none: nothing is recorded). From now until Stop each such row goes to w
// as a CSV line under TelemetryHeader, which is written at once, so a run
// without samples still gets a well-formed file. Writes to w happen on the
// sampler's goroutine, never after Stop returns; a failing w stops the
// writes (see Err) but not the summary.
func (s *Sampler) Attach(uuids []string, w io.Writer) *Recording {
	r := &Recording{s: s, uuids: map[string]bool{}, last: map[string]row{}}
	for _, u := range uuids {
		r.uuids[u] = true
	}
	if w == nil {
		w = io.Discard
	}
	r.out = csv.NewWriter(w)
	r.write(TelemetryHeader)
	if s != nil {
		s.mu.Lock()
		s.recs[r] = struct{}{}
		s.mu.Unlock()
	}
	return r
}

// Stop detaches the recording and returns the summary of the rows it got.
// Stopping again returns the same summary.
func (r *Recording) Stop() Summary {
	if r.s != nil {
		r.s.mu.Lock()
		defer r.s.mu.Unlock()
		delete(r.s.recs, r)
	}
	if !r.stopped {
		r.stopped = true
		if r.utilN > 0 {
			r.sum.MeanUtilPct = r.utilSum / float64(r.utilN)
		}
		if r.powN > 0 {
			r.sum.MeanPowerW = r.powSum / float64(r.powN)
		}
	}
	return r.sum
}

// Err is the first error writing the CSV, if any.
func (r *Recording) Err() error {
	if r.s != nil {
		r.s.mu.Lock()
		defer r.s.mu.Unlock()
	}
	return r.err
}

// add takes one row; the sampler's lock is held.
func (r *Recording) add(x row) {
	r.write(x.record())
	r.sum.Samples++
	if v := x.MemoryMiB; v != nil {
		r.sum.PeakMemoryMiB = max(r.sum.PeakMemoryMiB, *v)
	}
	if v := x.UtilPct; v != nil {
		r.utilSum += *v
		r.utilN++
		r.sum.MaxUtilPct = max(r.sum.MaxUtilPct, *v)
	}
	if x.PowerW == nil || x.Time.IsZero() {
		delete(r.last, x.UUID)
		return
	}
	r.powSum += *x.PowerW
	r.powN++
	if prev, ok := r.last[x.UUID]; ok && x.Time.After(prev.Time) {
		r.sum.EnergyWh += (*prev.PowerW + *x.PowerW) / 2 * x.Time.Sub(prev.Time).Hours()
	}
	r.last[x.UUID] = x
}

// write writes one CSV line and flushes it, so that a reader of the file
// (a live view, a crash) sees whole rows.
func (r *Recording) write(rec []string) {
	if r.err != nil {
		return
	}
	r.out.Write(rec)
	r.out.Flush()
	r.err = r.out.Error()
}
