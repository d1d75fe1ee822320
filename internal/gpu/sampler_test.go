package gpu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mustStream writes the captured telemetry (testdata/h200/telemetry-lms250.csv:
// timestamp, index, utilization.gpu, memory.used every 250 ms) as the
// sampler's rows for each of devices: the uuid and power.draw columns added,
// utilisation rising 3 points a tick from the device's index (capped at
// 100), memory as captured plus 100 MiB per index, power 80 W + 2 W a tick.
// It returns the file and the number of rows per device.
func mustStream(t testing.TB, devices []Device) (string, int) {
	t.Helper()
	f, err := os.Open("testdata/h200/telemetry-lms250.csv")
	require.NoError(t, err)
	defer f.Close()
	var out bytes.Buffer
	ticks := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), ", ")
		mem, err := strconv.Atoi(c[3])
		require.NoError(t, err, "capture line %q", sc.Text())
		require.Len(t, c, 4, "capture line %q", sc.Text())
		for _, d := range devices {
			fmt.Fprintf(&out, "%s, %d, %s, %d, %d, %.2f\n", c[0], d.Index, d.UUID, min(100, 3*ticks+d.Index), mem+100*d.Index, 80+2*float64(ticks))
		}
		ticks++
	}
	path := filepath.Join(t.TempDir(), "stream.csv")
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	return path, ticks
}

func mustInventory(t testing.TB, query string) *Inventory {
	t.Helper()
	mustFakeSMI(t, fakeSMI{Query: query})
	inv, err := Query(context.Background())
	require.NoError(t, err)
	return inv
}

// mustAcquire acquires the sampler; when the test ends, a sampler a failed
// test left running is stopped, so that it neither leaks into the next test
// nor outlives the test binary.
func mustAcquire(t testing.TB, interval time.Duration) *Sampler {
	t.Helper()
	s, err := Acquire(context.Background(), interval)
	require.NoError(t, err)
	t.Cleanup(func() {
		registry.mu.Lock()
		left := registry.s
		if left != nil {
			left.refs = 1
		}
		registry.mu.Unlock()
		left.Release()
	})
	return s
}

// waitSamples waits until r has n samples.
func waitSamples(t testing.TB, r *Recording, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.s.mu.Lock()
		got := r.sum.Samples
		r.s.mu.Unlock()
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("recording has %d samples, want %d", got, n))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// csvRows are the data rows of a recording's CSV, split into fields; the
// header must be TelemetryHeader.
func csvRows(t testing.TB, b []byte) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Equal(t, strings.Join(TelemetryHeader, ","), lines[0], "header")
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Split(l, ","))
	}
	return rows
}

func TestSamplerSplitsRowsByDevice(t *testing.T) {
	inv := mustInventory(t, "testdata/four-gpu/query.csv")
	stream, ticks := mustStream(t, inv.Devices)
	gate := filepath.Join(t.TempDir(), "go")
	mustFakeSMI(t, fakeSMI{Query: "testdata/four-gpu/query.csv", Stream: stream, Gate: gate})
	s := mustAcquire(t, 250*time.Millisecond)
	defer s.Release()
	var first, second bytes.Buffer
	r1 := s.Attach(UUIDs(Visible(inv, "0", true)), &first)
	r2 := s.Attach(UUIDs(Visible(inv, "GPU-1c2e,3", true)), &second)
	os.WriteFile(gate, nil, 0o644)
	waitSamples(t, r1, ticks)
	waitSamples(t, r2, 2*ticks)
	sum1, sum2 := r1.Stop(), r2.Stop()

	rows := csvRows(t, first.Bytes())
	require.Len(t, rows, ticks, "first recording's rows")
	prev := -1.0
	for _, r := range rows {
		util, _ := strconv.ParseFloat(r[3], 64)
		require.Equal(t, "0", r[1], "first recording row %v: want GPU 0's rows, utilisation rising", r)
		require.Equal(t, inv.Devices[0].UUID, r[2], "first recording row %v: want GPU 0's rows, utilisation rising", r)
		require.GreaterOrEqual(t, util, prev, "first recording row %v: want GPU 0's rows, utilisation rising", r)
		prev = util
	}
	assert.Equal(t, time.Date(2026, 11, 27, 3, 44, 31, 668e6, time.Local).Format(csvTimestamp), rows[0][0], "first row %v: want the capture's first timestamp in RFC 3339", rows[0])
	assert.Equal(t, "80", rows[0][5], "first row %v: want 80 W", rows[0])
	count := map[string]int{}
	for _, r := range csvRows(t, second.Bytes()) {
		count[r[1]+" "+r[2]]++
	}
	want := map[string]int{"1 " + inv.Devices[1].UUID: ticks, "3 " + inv.Devices[3].UUID: ticks}
	assert.Equal(t, want, count, "second recording's rows per device")
	assert.Equal(t, ticks, sum1.Samples, "first summary %+v", sum1)
	assert.Equal(t, 100.0, sum1.MaxUtilPct, "first summary %+v", sum1)
	assert.Equal(t, 905.0, sum1.PeakMemoryMiB, "first summary %+v", sum1)
	assert.Equal(t, 2*ticks, sum2.Samples, "second summary %+v", sum2)
	assert.Equal(t, 1205.0, sum2.PeakMemoryMiB, "second summary %+v", sum2)
}

// The summaries of testdata/telemetry/fixed.csv, computed by hand.
//
//	GPU 0 (…3243): t = 31, 32, 33, 34.5 s; util 10 30 80 100; mem 1000 3000 2000 4000; power 100 300 500 100
//	  energy = (100+300)/2·1 + (300+500)/2·1 + (500+100)/2·1.5 = 200 + 400 + 450 = 1050 W·s = 1050/3600 Wh
//	GPU 1 (…5a61): util 50 [N/A] 70 90; mem 2000 2500 1500 1800; power 200 [N/A] 250 250
//	  energy: the intervals next to [N/A] count nothing; (250+250)/2·1.5 = 375 W·s
var fixedSummaries = []struct {
	name  string
	uuids []string
	want  Summary
}{
	{"GPU0", []string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243"},
		Summary{Samples: 4, PeakMemoryMiB: 4000, MeanUtilPct: 55, MaxUtilPct: 100, MeanPowerW: 250, EnergyWh: 1050.0 / 3600}},
	{"GPU1WithNA", []string{"GPU-1c2e9d4b-6a0f-4e1b-9b7a-2f0d8e3c5a61"},
		Summary{Samples: 4, PeakMemoryMiB: 2500, MeanUtilPct: 70, MaxUtilPct: 90, MeanPowerW: 700.0 / 3, EnergyWh: 375.0 / 3600}},
	{"BothSummed", []string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243", "GPU-1c2e9d4b-6a0f-4e1b-9b7a-2f0d8e3c5a61"},
		Summary{Samples: 8, PeakMemoryMiB: 4000, MeanUtilPct: 430.0 / 7, MaxUtilPct: 100, MeanPowerW: 1700.0 / 7, EnergyWh: 1425.0 / 3600}},
	{"OtherGPU", []string{"GPU-e5d4c3b2-a190-8f7e-6d5c-4b3a2f1e0d9c"}, Summary{}},
}

func TestRecordingSummary(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	mustFakeSMI(t, fakeSMI{Stream: "testdata/telemetry/fixed.csv", Gate: gate})
	s := mustAcquire(t, 0)
	defer s.Release()
	recs := make([]*Recording, len(fixedSummaries))
	for i, tt := range fixedSummaries {
		recs[i] = s.Attach(tt.uuids, nil)
	}
	os.WriteFile(gate, nil, 0o644)
	for i, tt := range fixedSummaries {
		waitSamples(t, recs[i], tt.want.Samples)
	}
	for i, tt := range fixedSummaries {
		t.Run(tt.name, func(t *testing.T) {
			got := recs[i].Stop()
			assert.True(t, summaryEqual(got, tt.want), "summary\n got %+v\nwant %+v", got, tt.want)
			assert.Equal(t, got, recs[i].Stop(), "second Stop")
		})
	}
}

func summaryEqual(a, b Summary) bool {
	eq := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	return a.Samples == b.Samples && eq(a.PeakMemoryMiB, b.PeakMemoryMiB) && eq(a.MeanUtilPct, b.MeanUtilPct) &&
		eq(a.MaxUtilPct, b.MaxUtilPct) && eq(a.MeanPowerW, b.MeanPowerW) && eq(a.EnergyWh, b.EnergyWh)
}

func TestSamplerSharedAndStoppedByLastRelease(t *testing.T) {
	inv := mustInventory(t, "testdata/four-gpu/query.csv")
	stream, _ := mustStream(t, inv.Devices)
	fake := mustFakeSMI(t, fakeSMI{Stream: stream, Loop: true})
	first := mustAcquire(t, 250*time.Millisecond)
	second := mustAcquire(t, time.Second) // a second trial of the sweep
	require.Same(t, first, second, "two Acquires started two samplers")
	got := lmsCalls(t, fake, 1)
	require.Len(t, got, 1, "nvidia-smi -lms started as %q, want once with -lms 250", got)
	require.True(t, strings.HasSuffix(got[0], "-lms 250"), "nvidia-smi -lms started as %q, want once with -lms 250", got)
	pgid := first.proc.p.PID()
	rec := second.Attach(UUIDs(inv.Devices[2:3]), nil)
	require.NoError(t, first.Release())
	require.NoError(t, syscall.Kill(-pgid, 0), "the sampler stopped while a holder remained")
	waitRows(t, rec, 3)
	require.NoError(t, second.Release())
	assertGroupGone(t, pgid)
	assert.Contains(t, strings.Join(fake.calls(t), "\n"), "SIGINT", "nvidia-smi was not stopped with SIGINT")
	assert.NoError(t, second.Err(), "Err after Release")
	assert.GreaterOrEqual(t, rec.Stop().Samples, 3, "samples the recording kept")
	assert.Error(t, second.Release(), "a Release too many was accepted")

	third := mustAcquire(t, 0)
	defer third.Release()
	assert.NotSame(t, first, third, "Acquire after the last Release: want a new sampler")
	if calls := lmsCalls(t, fake, 2); assert.Len(t, calls, 2, "Acquire after the last Release: calls %q, want a new sampler at the default 1s", fake.calls(t)) {
		assert.True(t, strings.HasSuffix(calls[1], "-lms 1000"), "Acquire after the last Release: calls %q, want a new sampler at the default 1s", fake.calls(t))
	}
}

func TestSamplerKilledWhenDeafToSIGINT(t *testing.T) {
	fake := mustFakeSMI(t, fakeSMI{Stream: "testdata/telemetry/fixed.csv", Loop: true, IgnoreINT: true})
	s := mustAcquire(t, 0)
	rec := s.Attach([]string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243"}, nil)
	waitRows(t, rec, 1)
	pgid := s.proc.p.PID()
	start := time.Now()
	require.NoError(t, s.Release())
	d := time.Since(start)
	assert.GreaterOrEqual(t, d, samplerGrace, "Release took %s, less than the grace period", d)
	assertGroupGone(t, pgid)
	calls := fake.calls(t)
	assert.Len(t, calls, 1, "calls %q", calls)
}

func TestSamplerFailsQuietly(t *testing.T) {
	for _, code := range []int{9, 12, 18} {
		t.Run(fmt.Sprintf("Exit%d", code), func(t *testing.T) {
			fake := mustFakeSMI(t, fakeSMI{StreamExit: code})
			s := mustAcquire(t, 0)
			deadline := time.Now().Add(5 * time.Second)
			for s.Err() == nil && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			var u *UnavailableError
			err := s.Err()
			require.ErrorAs(t, err, &u, "Err() = %v, want exit %d with nvidia-smi's message", err, code)
			require.Equal(t, code, u.ExitCode, "Err() = %v, want exit %d with nvidia-smi's message", err, code)
			require.Contains(t, u.Reason, smiMessages[code], "Err() = %v, want exit %d with nvidia-smi's message", err, code)
			var buf bytes.Buffer
			rec := s.Attach([]string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243"}, &buf)
			sum := rec.Stop()
			assert.Equal(t, Summary{}, sum, "summary, csv %q: want nothing but the header", buf.String())
			assert.Empty(t, csvRows(t, buf.Bytes()), "summary %+v, csv %q: want nothing but the header", sum, buf.String())
			// Another trial acquiring it starts nvidia-smi again.
			again := mustAcquire(t, 0)
			assert.Same(t, s, again, "calls %q, want a restart on Acquire", fake.calls(t))
			assert.Len(t, lmsCalls(t, fake, 2), 2, "calls %q, want a restart on Acquire", fake.calls(t))
			again.Release()
			assert.NoError(t, s.Release(), "Release")
		})
	}
}

func TestSamplerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s, err := Acquire(context.Background(), 0)
	var u *UnavailableError
	require.Nil(t, s, "Acquire = %v, %v; want nil and an *UnavailableError", s, err)
	require.ErrorAs(t, err, &u, "Acquire = %v, %v; want nil and an *UnavailableError", s, err)
	var buf bytes.Buffer
	rec := s.Attach([]string{"GPU-x"}, &buf)
	assert.Equal(t, Summary{}, rec.Stop(), "nil sampler: summary")
	assert.Equal(t, strings.Join(TelemetryHeader, ",")+"\n", buf.String(), "nil sampler: csv")
	assert.NoError(t, s.Release(), "nil sampler methods are not no-ops")
	assert.NoError(t, s.Err(), "nil sampler methods are not no-ops")
	assert.Zero(t, s.Interval(), "nil sampler methods are not no-ops")
}

func TestSamplerInterrupted(t *testing.T) {
	mustFakeSMI(t, fakeSMI{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Acquire(ctx, 0)
	assert.Nil(t, s, "Acquire(cancelled) = %v, %v", s, err)
	assert.ErrorIs(t, err, context.Canceled, "Acquire(cancelled) = %v, %v", s, err)
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.n--; w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestRecordingWriteErrorKeepsSummary(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "go")
	mustFakeSMI(t, fakeSMI{Stream: "testdata/telemetry/fixed.csv", Gate: gate})
	s := mustAcquire(t, 0)
	defer s.Release()
	rec := s.Attach(fixedSummaries[0].uuids, &failingWriter{n: 2}) // the header and one row
	os.WriteFile(gate, nil, 0o644)
	waitSamples(t, rec, 4)
	sum := rec.Stop()
	assert.True(t, summaryEqual(sum, fixedSummaries[0].want), "summary %+v, err %v", sum, rec.Err())
	assert.Error(t, rec.Err(), "summary %+v", sum)
}

// waitRows waits until r has at least n samples.
func waitRows(t testing.TB, r *Recording, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.s.mu.Lock()
		got := r.sum.Samples
		r.s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf("recording has %d samples, want %d or more", got, n))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lmsCalls are the fake's -lms calls, once there are n of them: a call is
// logged by the fake itself, a moment after it starts.
func lmsCalls(t testing.TB, fake fakeDir, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []string
		for _, c := range fake.calls(t) {
			if strings.Contains(c, "-lms") {
				out = append(out, c)
			}
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}
