package sweep

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/magelab/magelab/internal/report"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// display shows a sweep's progress: a line per event (a trial ending) and
// the board's state, redrawn live on a terminal or printed every interval
// as plain lines (CI logs).
type display interface {
	trialStarted(i int)
	println(line string)
	stop()
}

// newDisplay picks the live display when out is a terminal.
func newDisplay(ctx context.Context, b *board, out io.Writer, live bool, interval time.Duration) display {
	if live {
		return newLiveDisplay(ctx, b, out)
	}
	return newPlainDisplay(b, out, interval)
}

// liveDisplay draws with mpb: a bar of trials done with the board's status,
// and a spinner per running trial with its latest metrics.
type liveDisplay struct {
	b     *board
	p     *mpb.Progress
	total *mpb.Bar
	mu    sync.Mutex
	bars  map[int]*mpb.Bar
}

func newLiveDisplay(ctx context.Context, b *board, out io.Writer) *liveDisplay {
	// The caller decided out is a terminal (it may be a wrapper of one).
	p := mpb.NewWithContext(ctx, mpb.WithOutput(out), mpb.WithAutoRefresh(), mpb.WithRefreshRate(250*time.Millisecond))
	total := p.AddBar(int64(b.total), mpb.BarWidth(16),
		mpb.PrependDecorators(decor.Name("sweep ")),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return " " + report.Printable(b.status()) })),
		mpb.BarPriority(-1))
	return &liveDisplay{b: b, p: p, total: total, bars: map[int]*mpb.Bar{}}
}

func (d *liveDisplay) trialStarted(i int) {
	bar := d.p.New(0, mpb.SpinnerStyle(), mpb.BarWidth(1),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return " " + report.Printable(d.b.lineOf(i)) })))
	d.mu.Lock()
	d.bars[i] = bar
	d.mu.Unlock()
}

// println prints above the bars; a trial's ending line also removes its spinner.
func (d *liveDisplay) println(line string) {
	line = report.PrintableText(line)
	d.p.Write([]byte(line + "\n"))
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, bar := range d.bars {
		if d.b.lineOf(i) == "" {
			bar.Abort(true)
			delete(d.bars, i)
			d.total.Increment()
		}
	}
}

func (d *liveDisplay) stop() {
	d.mu.Lock()
	for _, bar := range d.bars {
		bar.Abort(true)
	}
	d.mu.Unlock()
	d.total.Abort(false) // stays drawn as it is
	d.p.Wait()
}

// plainDisplay prints the board every interval, and each event as it comes.
type plainDisplay struct {
	b    *board
	out  io.Writer
	mu   sync.Mutex
	quit chan struct{}
	done chan struct{}
}

func newPlainDisplay(b *board, out io.Writer, interval time.Duration) *plainDisplay {
	d := &plainDisplay{b: b, out: out, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-d.quit:
				return
			case <-t.C:
				d.report()
			}
		}
	}()
	return d
}

func (d *plainDisplay) report() {
	lines := append([]string{"sweep: " + d.b.status()}, d.b.trialLines()...)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, l := range lines {
		if i > 0 {
			l = "  " + l
		}
		fmt.Fprintln(d.out, report.PrintableText(l))
	}
}

func (d *plainDisplay) trialStarted(int) {}

func (d *plainDisplay) println(line string) {
	line = report.PrintableText(line)
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintln(d.out, line)
}

func (d *plainDisplay) stop() {
	close(d.quit)
	<-d.done
}
