package ui

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/magelab/magelab/internal/query"
)

var sprintf = fmt.Sprintf

// chromium finds Debian's Chromium (.ci/run installs it). Without one the
// browser test is skipped, except in CI, where that is a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on this machine: .ci/run installs Debian's (apt-get install chromium); the browser test must run in CI")
	}
	t.Skip("no chromium here (apt-get install chromium): the browser test is skipped")
	return ""
}

// TestBrowser drives the pages in a real headless Chromium over a project
// whose runs the real runner recorded: the runs page filtered, two runs
// compared, the sweep's parallel coordinates brushed, a run's page, and a
// run followed live while it trains. Screenshots go to the test's artifact
// directory (go test -artifacts keeps them), and to $MAGELAB_UI_SCREENSHOTS
// when set (docs/ui.md's pictures are made that way).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: records real runs and starts Chromium")
	}
	bin := chromium(t)
	rp := newRealProject(t)
	srv := httptest.NewServer(NewServer(rp.ledger).Handler())
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	actx, cancelA := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	var mu sync.Mutex
	var consoleErrors []string
	require.NoError(t, chromedp.Listen(bctx, func(ev any) {
		if p := jsProblem(ev); p != nil {
			mu.Lock()
			consoleErrors = append(consoleErrors, p...)
			mu.Unlock()
		}
	}))
	b := &browser{t: t, ctx: bctx, base: srv.URL, shots: t.ArtifactDir()}

	t.Run("RunsPage", func(t *testing.T) {
		b.t = t
		b.open("#/runs", "#runs-table")
		assert.Equal(t, 7, b.count("#runs-table tbody tr"), "six trials and one run of another experiment")
		head := b.text("#runs-table thead")
		for _, col := range []string{"id", "experiment", "status", "sha", "train.depth", "train.lr", "accuracy", "loss", "duration"} {
			assert.Contains(t, head, col)
		}
		assert.Contains(t, b.text("#runs-table tbody"), "*", "the tree was dirty: the SHA is marked")
		b.shot("runs")
	})
	t.Run("Filter", func(t *testing.T) {
		b.t = t
		b.run(chromedp.SetValue(chromedp.CSS("#where"), "train.lr=0.3 experiment=tiny"), chromedp.Click(chromedp.CSS("form.filter button")))
		b.waitJS(`document.querySelector("#total") && document.querySelector("#total").textContent.includes("of 2 runs")`)
		assert.Equal(t, 2, b.count("#runs-table tbody tr"))
		b.run(chromedp.SetValue(chromedp.CSS("#where"), "accuracy>>"), chromedp.Click(chromedp.CSS("form.filter button")))
		b.waitJS(`!!document.querySelector(".error")`)
		assert.Contains(t, b.text(".error"), "accuracy>>", "the -where error is shown as the CLI gives it")
		b.open("#/runs?sort=-metrics.accuracy&where="+strings.ReplaceAll("experiment=tiny", "=", "%3D"), "#runs-table")
		assert.Equal(t, 6, b.count("#runs-table tbody tr"))
	})
	t.Run("Compare", func(t *testing.T) {
		b.t = t
		b.run(chromedp.Click(chromedp.CSS("#runs-table tbody tr:nth-child(1) input")),
			chromedp.Click(chromedp.CSS("#runs-table tbody tr:nth-child(6) input")),
			chromedp.Click(chromedp.CSS("#compare")))
		b.wait("#compare-table")
		b.waitJS(`document.querySelectorAll("#overlay canvas").length >= 2`)
		assert.Equal(t, 3, b.count("#compare-table thead th"), "a column per run")
		all := b.count("#compare-table tbody tr")
		b.run(chromedp.Click(chromedp.CSS("#diff-only")))
		only := b.count("#compare-table tbody tr")
		assert.Less(t, only, all, "differences only hides the rows that agree")
		assert.Equal(t, b.count("#compare-table tbody tr.differs"), b.count("#compare-table tbody tr:not(.group)"))
		b.nonBlank("#overlay canvas")
		b.run(chromedp.SetValue(chromedp.CSS("#smoothing"), "0.9"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#smoothing").dispatchEvent(new Event("input"))`))
		b.shot("compare")
	})
	t.Run("Sweep", func(t *testing.T) {
		b.t = t
		b.open("#/sweep/"+rp.sweepID, "canvas.parcoords-canvas")
		assert.Equal(t, 6, b.count("#trials-table tbody tr"))
		b.nonBlank("canvas.parcoords-canvas")
		b.nonBlank("#scatter canvas")
		b.nonBlank("#best-so-far canvas")
		assert.Equal(t, "1", b.text("#trials-table tbody tr:first-child td:first-child"), "ranked best first")
		b.brushLastAxis()
		n := b.count("#trials-table tbody tr")
		assert.Greater(t, n, 0)
		assert.Less(t, n, 6, "brushing the metric's axis filters the table")
		assert.Contains(t, b.text("#shown"), "in the brushed ranges")
		b.shot("sweep")
	})
	t.Run("RunPage", func(t *testing.T) {
		b.t = t
		b.open("#/runs", "#runs-table")
		b.run(chromedp.Click(chromedp.CSS("#runs-table tbody tr:first-child a")))
		b.wait("#metrics-table")
		b.waitJS(`document.querySelectorAll("#curves canvas").length >= 2 && document.querySelector("#patch .diff")`)
		b.nonBlank("#curves canvas")
		assert.Contains(t, b.text("#patch"), "# tuned by hand", "the recorded git.patch, rendered")
		assert.Contains(t, b.text("#metrics-table"), "best step")
		assert.Contains(t, b.text("#stages-table"), "train")
		assert.Contains(t, b.text("main"), "<img src=x onerror=alert(1)>", "a param with markup is shown as text")
		assert.Equal(t, 0, b.count("main img"), "and never becomes an element")
		b.waitJS(`document.querySelector("pre.log") && document.querySelector("pre.log").textContent.includes("step 29: loss=")`)
		b.shot("run")
	})
	t.Run("Live", func(t *testing.T) {
		b.t = t
		b.open("#/runs", "#runs-table")
		before := b.count("#runs-table tbody tr")
		id, done := rp.trainSlow(t, ctx)
		b.waitJS(sprintf(`document.querySelectorAll("#runs-table tbody tr").length === %d`, before+1))
		assert.Contains(t, b.text("#runs-table tbody tr:first-child"), "running", "the new run appears without a reload")
		b.open("#/run/"+id, "#metrics-table")
		b.waitJS(`[...document.querySelectorAll("#curves .chart")].some(c => Number(c.dataset.points) > 0)`)
		first := b.points()
		b.waitJS(sprintf(`Number(document.querySelector("#curves .chart").dataset.points) > %d + 5`, first))
		second := b.points()
		assert.Greater(t, second, first, "the curve grew while the run trained")
		b.nonBlank("#curves canvas")
		b.shot("live")
		b.open("#/live", "#live-runs .live-card")
		b.waitJS(`document.querySelector("#live-runs .live-card canvas")`)
		b.nonBlank("#live-runs canvas")
		require.NoError(t, <-done)
	})
	t.Run("ManyPageLoads", func(t *testing.T) {
		// Each load opens the page's event stream; a browser gives one
		// server six connections. Pages left (kept for going back) held
		// theirs, and the seventh load stalled about a minute.
		b.t = t
		for i := range 8 {
			ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
			err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(b.base+"/#/runs"))
			cancel()
			require.NoError(t, err, "page load %d of 8 (a stall: connections still held by the pages left?)", i+1)
			b.wait("#runs-table tbody tr")
		}
		assert.Positive(t, b.count("#runs-table tbody tr"))
	})
	t.Run("Report", func(t *testing.T) {
		b.t = t
		runs, _, err := query.List(rp.ledger, query.Query{SweepID: rp.sweepID})
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "report.html")
		f, err := os.Create(file)
		require.NoError(t, err)
		require.NoError(t, WriteReport(f, rp.ledger, runs, rp.sweepID))
		require.NoError(t, f.Close())
		b.run(chromedp.Navigate("about:blank")) // closes the page's streams
		srv.CloseClientConnections()
		srv.Close() // the report needs no server
		b.run(chromedp.Navigate("file://" + file))
		b.wait("canvas.parcoords-canvas")
		b.nonBlank("canvas.parcoords-canvas")
		b.nonBlank("#scatter canvas")
		assert.Equal(t, 6, b.count("#trials-table tbody tr"))
		b.shot("report-sweep")
		b.run(chromedp.Click(chromedp.CSS("#trials-table tbody tr:first-child a")))
		b.wait("#metrics-table")
		b.waitJS(`document.querySelectorAll("#curves canvas").length >= 2 && document.querySelector("#patch .diff")`)
		b.nonBlank("#curves canvas")
		b.run(chromedp.Evaluate[chromedp.Void](`location.hash = "#/runs?sort=-metrics.accuracy"`))
		b.wait("#runs-table")
		assert.Equal(t, 6, b.count("#runs-table tbody tr"))
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, consoleErrors, "the pages logged errors")
}

// browser is one Chromium tab on the server.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, actions...))
}

// eval evaluates expr and decodes its value into v.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, "evaluate %s", expr)
	return v
}

func (b *browser) open(hash, sel string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base + "/" + hash))
	b.wait(sel)
}

func (b *browser) wait(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))), "waiting for %s; page: %s", sel, b.pageText())
}

// waitJS waits until the expression is true.
func (b *browser) waitJS(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")", chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(b.t, err, "waiting for %s; page: %s", expr, b.pageText())
}

func (b *browser) pageText() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 800) : ""`))
	return s
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, sprintf(`document.querySelectorAll(%q).length`, sel))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return eval[string](b, sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel))
}

func (b *browser) points() int {
	b.t.Helper()
	return eval[int](b, `Number(document.querySelector("#curves .chart").dataset.points)`)
}

// nonBlank wants every canvas that sel matches to have pixels drawn in
// something other than white or transparent.
func (b *browser) nonBlank(sel string) {
	b.t.Helper()
	inked := eval[[]int](b, sprintf(`[...document.querySelectorAll(%q)].map(c => {
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && !(d[i] > 245 && d[i+1] > 245 && d[i+2] > 245)) n++;
		return n;
	})`, sel))
	require.NotEmpty(b.t, inked, "no canvas matches %s", sel)
	for i, n := range inked {
		assert.Greater(b.t, n, 200, "canvas %d of %s is blank", i, sel)
	}
}

// brushLastAxis drags along the top half of the last axis (the metric,
// the best values) of the parallel coordinates.
func (b *browser) brushLastAxis() {
	b.t.Helper()
	type geometry struct {
		Left float64 `json:"left"`
		Top  float64 `json:"top"`
		Axes string  `json:"axes"`
		Y0   string  `json:"y0"`
		Y1   string  `json:"y1"`
	}
	geo := eval[geometry](b, `(() => { const c = document.querySelector("canvas.parcoords-canvas"); const r = c.getBoundingClientRect();
		return {left: r.left, top: r.top, axes: c.dataset.axisX, y0: c.dataset.top, y1: c.dataset.bottom}; })()`)
	xs := strings.Split(geo.Axes, ",")
	var x, top, bottom float64
	fmt.Sscan(xs[len(xs)-1], &x)
	fmt.Sscan(geo.Y0, &top)
	fmt.Sscan(geo.Y1, &bottom)
	px, from, to := geo.Left+x, geo.Top+top-4, geo.Top+top+(bottom-top)*0.3
	b.run(
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, px, from, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, px, (from+to)/2, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, px, to, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, px, to, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
}

// shot saves a screenshot of the viewport as NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.run(chromedp.Sleep(150 * time.Millisecond))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644))
	if dir := os.Getenv("MAGELAB_UI_SCREENSHOTS"); dir != "" {
		require.NoError(b.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
	}
}
