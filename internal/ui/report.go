package ui

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
	"github.com/magelab/magelab/internal/report"
)

// Report sizes: the runs whose pages a report holds, the width its curves
// are downsampled to, and the log lines it keeps.
const (
	reportRunPages = 100
	reportWidth    = 1200
	reportLogLines = 200
)

// WriteReport writes one self-contained HTML file with the UI's pages over
// runs (in their order) and, when sweepID is set, that sweep: the answers
// the page would fetch are inlined as JSON, and the modules and the chart
// library as data: URLs behind the page's import map, so the file opens
// anywhere, offline, with the same charts. It opens on the sweep when
// there is one, else on the runs.
func WriteReport(w io.Writer, l *ledger.Ledger, runs []record.Summary, sweepID string) error {
	s := NewServer(l)
	data := map[string]any{}
	page := runsPage{Total: len(runs), Limit: len(runs), Params: []string{}, Metrics: report.MetricNames(runs), Runs: []apiRun{}}
	if len(runs) > 0 {
		page.Params = report.DifferingParams(runs)
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	for i, short := range report.ShortIDs(ids) {
		page.Runs = append(page.Runs, apiRun{JSONRun: report.NewJSONRun(runs[i]), Short: short})
	}
	if len(runs) > reportRunPages {
		page.Warnings = append(page.Warnings, fmt.Sprintf("this report holds the pages of the first %d runs only", reportRunPages))
	}
	data["runs"] = page
	for _, r := range runs[:min(len(runs), reportRunPages)] {
		if err := s.reportRun(data, r.ID); err != nil {
			return err
		}
	}
	if sweepID != "" {
		d, err := s.sweepDetail(sweepID)
		if err != nil {
			return err
		}
		data["sweep/"+sweepID] = d
		data["sweeps"] = []sweepItem{d.sweepItem}
		data["start"] = "#/sweep/" + sweepID
	} else {
		data["sweeps"] = []sweepItem{}
	}
	return writeReportHTML(w, data)
}

// reportRun adds what the run page fetches for one run.
func (s *Server) reportRun(data map[string]any, id string) error {
	d, err := s.runDetail(id)
	if err != nil {
		return fmt.Errorf("report: run %s: %w", id, err)
	}
	data["run/"+id] = d
	if ans, err := s.series1(id, nil, reportWidth); err == nil {
		data["series/"+id] = ans
	}
	root, err := s.openRun(id)
	if err != nil {
		return nil // a ledger-only run: its record is all there is
	}
	defer root.Close()
	if series, err := readGPU(root); err == nil {
		for i := range series {
			series[i].Points = len(series[i].X)
			series[i].X, series[i].Y = Downsample(series[i].X, series[i].Y, reportWidth)
		}
		data["gpu/"+id] = seriesAnswer{Width: reportWidth, Series: series}
	}
	for _, f := range append(d.Logs, d.Files...) {
		if f.Name == "gpu.csv" || f.Name == "run.json" {
			continue
		}
		b, err := fs.ReadFile(root.FS(), f.Path)
		if err != nil {
			continue
		}
		if strings.HasPrefix(f.Path, "logs/") {
			b = lastLines(b, reportLogLines, false)
		}
		data["file/"+id+"/"+f.Path] = string(b)
	}
	return nil
}

// writeReportHTML writes the page with data and every asset inline.
func writeReportHTML(w io.Writer, data map[string]any) error {
	js, err := json.Marshal(data) // escapes <, > and &: no value can end the script element
	if err != nil {
		return fmt.Errorf("report: encode: %w", err)
	}
	imports := map[string]string{}
	err = fs.WalkDir(assets, "assets", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := "mlab/" + strings.TrimPrefix(p, "assets/js/")
		if p == "assets/vendor/uplot/uPlot.esm.js" {
			name = "uplot"
		}
		imports[name] = "data:text/javascript;base64," + base64.StdEncoding.EncodeToString(b)
		return nil
	})
	if err != nil {
		return err
	}
	im, err := json.Marshal(map[string]any{"imports": imports})
	if err != nil {
		return err
	}
	css := func(p string) string {
		b, _ := assets.ReadFile(p)
		return strings.ReplaceAll(string(b), "</", `<\/`)
	}
	page := string(indexHTML)
	page = strings.Replace(page, `<link rel="stylesheet" href="/assets/vendor/uplot/uPlot.min.css">`, "<style>"+css("assets/vendor/uplot/uPlot.min.css")+"</style>", 1)
	page = strings.Replace(page, `<link rel="stylesheet" href="/assets/app.css">`, "<style>"+css("assets/app.css")+"</style>", 1)
	page = strings.Replace(page, importMap, string(im), 1)
	page = strings.Replace(page, `<script type="module" src="/assets/js/main.js"></script>`,
		`<script type="application/json" id="magelab-data">`+string(js)+`</script>`+"\n"+`<script type="module">import "mlab/main.js";</script>`, 1)
	page = strings.Replace(page, "<title>magelab</title>", "<title>magelab report</title>", 1)
	_, err = io.WriteString(w, page)
	return err
}
