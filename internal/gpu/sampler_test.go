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
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	ticks := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), ", ")
		mem, err := strconv.Atoi(c[3])
		if err != nil || len(c) != 4 {
			t.Fatalf("capture line %q", sc.Text())
		}
		for _, d := range devices {
			fmt.Fprintf(&out, "%s, %d, %s, %d, %d, %.2f\n", c[0], d.Index, d.UUID, min(100, 3*ticks+d.Index), mem+100*d.Index, 80+2*float64(ticks))
		}
		ticks++
	}
	path := filepath.Join(t.TempDir(), "stream.csv")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ticks
}

func mustInventory(t testing.TB, query string) *Inventory {
	t.Helper()
	mustFakeSMI(t, fakeSMI{Query: query})
	inv, err := Query(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// mustAcquire acquires the sampler; when the test ends, a sampler a failed
// test left running is stopped, so that it neither leaks into the next test
// nor outlives the test binary.
func mustAcquire(t testing.TB, interval time.Duration) *Sampler {
	t.Helper()
	s, err := Acquire(context.Background(), interval)
	if err != nil {
		t.Fatal(err)
	}
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
			t.Fatalf("recording has %d samples, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// csvRows are the data rows of a recording's CSV, split into fields; the
// header must be TelemetryHeader.
func csvRows(t testing.TB, b []byte) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != strings.Join(TelemetryHeader, ",") {
		t.Fatalf("header %q, want %q", lines[0], strings.Join(TelemetryHeader, ","))
	}
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
	if len(rows) != ticks {
		t.Fatalf("first recording has %d rows, want %d", len(rows), ticks)
	}
	prev := -1.0
	for _, r := range rows {
		util, _ := strconv.ParseFloat(r[3], 64)
		if r[1] != "0" || r[2] != inv.Devices[0].UUID || util < prev {
			t.Fatalf("first recording row %v: want GPU 0's rows, utilisation rising", r)
		}
		prev = util
	}
	if rows[0][0] != time.Date(2026, 11, 27, 3, 44, 31, 668e6, time.Local).Format(csvTimestamp) || rows[0][5] != "80" {
		t.Errorf("first row %v: want the capture's first timestamp in RFC 3339 and 80 W", rows[0])
	}
	count := map[string]int{}
	for _, r := range csvRows(t, second.Bytes()) {
		count[r[1]+" "+r[2]]++
	}
	want := map[string]int{"1 " + inv.Devices[1].UUID: ticks, "3 " + inv.Devices[3].UUID: ticks}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("second recording's rows per device = %v, want %v", count, want)
	}
	if sum1.Samples != ticks || sum1.MaxUtilPct != 100 || sum1.PeakMemoryMiB != 905 {
		t.Errorf("first summary %+v", sum1)
	}
	if sum2.Samples != 2*ticks || sum2.PeakMemoryMiB != 1205 {
		t.Errorf("second summary %+v", sum2)
	}
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
			if !summaryEqual(got, tt.want) {
				t.Errorf("summary\n got %+v\nwant %+v", got, tt.want)
			}
			if again := recs[i].Stop(); again != got {
				t.Errorf("second Stop = %+v, want %+v", again, got)
			}
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
	if first != second {
		t.Fatal("two Acquires started two samplers")
	}
	if got := lmsCalls(t, fake, 1); len(got) != 1 || !strings.HasSuffix(got[0], "-lms 250") {
		t.Fatalf("nvidia-smi -lms started as %q, want once with -lms 250", got)
	}
	pgid := first.proc.p.PID()
	rec := second.Attach(UUIDs(inv.Devices[2:3]), nil)
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-pgid, 0); err != nil {
		t.Fatalf("the sampler stopped while a holder remained: %v", err)
	}
	waitRows(t, rec, 3)
	if err := second.Release(); err != nil {
		t.Fatal(err)
	}
	assertGroupGone(t, pgid)
	if !strings.Contains(strings.Join(fake.calls(t), "\n"), "SIGINT") {
		t.Error("nvidia-smi was not stopped with SIGINT")
	}
	if err := second.Err(); err != nil {
		t.Errorf("Err after Release = %v, want nil", err)
	}
	if n := rec.Stop().Samples; n < 3 {
		t.Errorf("recording kept %d samples", n)
	}
	if err := second.Release(); err == nil {
		t.Error("a Release too many was accepted")
	}

	third := mustAcquire(t, 0)
	defer third.Release()
	if third == first || len(lmsCalls(t, fake, 2)) != 2 || !strings.HasSuffix(lmsCalls(t, fake, 2)[1], "-lms 1000") {
		t.Errorf("Acquire after the last Release: calls %q, want a new sampler at the default 1s", fake.calls(t))
	}
}

func TestSamplerKilledWhenDeafToSIGINT(t *testing.T) {
	fake := mustFakeSMI(t, fakeSMI{Stream: "testdata/telemetry/fixed.csv", Loop: true, IgnoreINT: true})
	s := mustAcquire(t, 0)
	rec := s.Attach([]string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243"}, nil)
	waitRows(t, rec, 1)
	pgid := s.proc.p.PID()
	start := time.Now()
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < samplerGrace {
		t.Errorf("Release took %s, less than the grace period", d)
	}
	assertGroupGone(t, pgid)
	if n := len(fake.calls(t)); n != 1 {
		t.Errorf("calls %q", fake.calls(t))
	}
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
			if err := s.Err(); !errors.As(err, &u) || u.ExitCode != code || !strings.Contains(u.Reason, smiMessages[code]) {
				t.Fatalf("Err() = %v, want exit %d with nvidia-smi's message", err, code)
			}
			var buf bytes.Buffer
			rec := s.Attach([]string{"GPU-703f6a55-8249-cdee-4b5e-8c293bc03243"}, &buf)
			if sum := rec.Stop(); sum != (Summary{}) || len(csvRows(t, buf.Bytes())) != 0 {
				t.Errorf("summary %+v, csv %q: want nothing but the header", sum, buf.String())
			}
			// Another trial acquiring it starts nvidia-smi again.
			again := mustAcquire(t, 0)
			if again != s || len(lmsCalls(t, fake, 2)) != 2 {
				t.Errorf("calls %q, want a restart on Acquire", fake.calls(t))
			}
			again.Release()
			if err := s.Release(); err != nil {
				t.Errorf("Release = %v", err)
			}
		})
	}
}

func TestSamplerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	s, err := Acquire(context.Background(), 0)
	var u *UnavailableError
	if s != nil || !errors.As(err, &u) {
		t.Fatalf("Acquire = %v, %v; want nil and an *UnavailableError", s, err)
	}
	var buf bytes.Buffer
	rec := s.Attach([]string{"GPU-x"}, &buf)
	if sum := rec.Stop(); sum != (Summary{}) || buf.String() != strings.Join(TelemetryHeader, ",")+"\n" {
		t.Errorf("nil sampler: summary %+v, csv %q", sum, buf.String())
	}
	if s.Release() != nil || s.Err() != nil || s.Interval() != 0 {
		t.Error("nil sampler methods are not no-ops")
	}
}

func TestSamplerInterrupted(t *testing.T) {
	mustFakeSMI(t, fakeSMI{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := Acquire(ctx, 0); s != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire(cancelled) = %v, %v", s, err)
	}
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
	if sum := rec.Stop(); !summaryEqual(sum, fixedSummaries[0].want) || rec.Err() == nil {
		t.Errorf("summary %+v, err %v", sum, rec.Err())
	}
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
			t.Fatalf("recording has %d samples, want %d or more", got, n)
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
