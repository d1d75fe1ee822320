package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// logBacklog is how much of each log a live run's stream starts with.
const logBacklog = 64 << 10

// keepAlive is how often an idle stream sends a comment, so proxies and
// browsers keep it open.
const keepAlive = 15 * time.Second

// sse writes server-sent events.
type sse struct {
	w io.Writer
	f http.Flusher
}

func newSSE(w http.ResponseWriter) (*sse, error) {
	f, ok := w.(http.Flusher)
	if !ok {
		return nil, errorf(http.StatusInternalServerError, ECodeInternal, "this connection cannot stream events")
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f.Flush()
	return &sse{w: w, f: f}, nil
}

func (e *sse) send(event string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", event, b); err != nil {
		return err
	}
	e.f.Flush()
	return nil
}

func (e *sse) comment() error {
	if _, err := io.WriteString(e.w, ": keep-alive\n\n"); err != nil {
		return err
	}
	e.f.Flush()
	return nil
}

// handleEvents answers GET /api/events: a stream with a "ledger" event
// each time the ledger grows (a run started, finished or was evaluated), so
// that a listing can fetch its page again and new runs appear.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	out, err := newSSE(w)
	if err != nil {
		writeError(w, err)
		return
	}
	var last ledgerStamp
	if st, err := os.Stat(s.Ledger.Path()); err == nil {
		last = ledgerStamp{st.Size(), st.ModTime()}
	}
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	idle := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		st, err := os.Stat(s.Ledger.Path())
		var now ledgerStamp
		if err == nil {
			now = ledgerStamp{st.Size(), st.ModTime()}
		}
		switch {
		case now != last:
			last, idle = now, time.Now()
			err = out.send("ledger", map[string]int64{"size": now.size})
		case time.Since(idle) > keepAlive:
			idle = time.Now()
			err = out.comment()
		}
		if err != nil {
			return
		}
	}
}

// handleRunEvents answers GET /api/runs/{id}/events?width=N: the stream of
// one run. It starts with a "series" event holding the run's curves so far
// (downsampled to width) and the end of each log ("log"), then sends the
// points logged since ("points"), new log lines ("log") and the run's
// status when it changes ("status"); once the run has ended it sends "end"
// and closes.
func (s *Server) handleRunEvents(w http.ResponseWriter, r *http.Request) {
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
	out, err := newSSE(w)
	if err != nil {
		return
	}
	t := &runTail{s: s, root: root, id: rec.ID, out: out, sent: map[string]int{}, logs: map[string]int64{}, status: rec.Status}
	if t.first(width) != nil {
		return
	}
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	idle := time.Now()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		sent, ended, err := t.poll()
		if err != nil || ended {
			return
		}
		if sent {
			idle = time.Now()
		} else if time.Since(idle) > keepAlive {
			idle = time.Now()
			if out.comment() != nil {
				return
			}
		}
	}
}

// runTail is the state of one run's stream: what of each series and log
// has been sent.
type runTail struct {
	s      *Server
	root   *os.Root
	id     string
	out    *sse
	sent   map[string]int   // points sent, by series
	logs   map[string]int64 // bytes sent, by log
	status record.Status
	mod    time.Time   // run.json's, when last read
	ledger ledgerStamp // the ledger's, then
}

type pointsEvent struct {
	Series []seriesJSON `json:"series"`
}

func (t *runTail) first(width int) error {
	names, cols, _ := t.s.columns(t.root, t.id, nil)
	ev := seriesAnswer{Width: width, Series: []seriesJSON{}}
	for _, n := range names {
		c := cols[n]
		x, y := Downsample(c.x, c.y, width)
		ev.Series = append(ev.Series, seriesJSON{Name: n, Points: len(c.x), X: x, Y: y})
		t.sent[n] = len(c.x)
	}
	if err := t.out.send("series", ev); err != nil {
		return err
	}
	if st, err := t.root.Stat("run.json"); err == nil {
		t.mod = st.ModTime()
	}
	t.ledger, _ = t.s.stamp()
	_, err := t.sendLogs(true)
	return err
}

// poll sends what changed since the last poll.
func (t *runTail) poll() (sent, ended bool, err error) {
	names, cols, _ := t.s.columns(t.root, t.id, nil)
	var ev pointsEvent
	for _, n := range names {
		c := cols[n]
		if k := t.sent[n]; len(c.x) > k {
			ev.Series = append(ev.Series, seriesJSON{Name: n, Points: len(c.x), X: c.x[k:], Y: c.y[k:]})
			t.sent[n] = len(c.x)
		}
	}
	if len(ev.Series) > 0 {
		if err := t.out.send("points", ev); err != nil {
			return false, false, err
		}
		sent = true
	}
	logged, err := t.sendLogs(false)
	if err != nil {
		return false, false, err
	}
	// The status is looked up again when run.json or the ledger changed:
	// the run's end writes both, in either order.
	st, err := t.root.Stat("run.json")
	stamp, serr := t.s.stamp()
	if err != nil || serr != nil || (st.ModTime().Equal(t.mod) && stamp == t.ledger) {
		return sent || logged, false, nil
	}
	t.mod, t.ledger = st.ModTime(), stamp
	rec, err := t.s.record(t.id)
	if err != nil || rec.Status == t.status {
		return sent || logged, false, nil
	}
	t.status = rec.Status
	if err := t.out.send("status", map[string]any{"status": rec.Status, "exit_code": rec.ExitCode, "metrics": rec.Metrics}); err != nil {
		return false, false, err
	}
	if rec.Status != record.StatusRunning {
		t.out.send("end", map[string]string{"status": string(rec.Status)})
		return true, true, nil
	}
	return true, false, nil
}

// sendLogs sends the complete lines added to each log since the last call;
// the first call starts logBacklog from the end.
func (t *runTail) sendLogs(first bool) (bool, error) {
	sent := false
	for _, fi := range listDir(t.root, "logs") {
		off, known := t.logs[fi.Path]
		if !known {
			off = 0
			if first {
				off = max(0, fi.Size-logBacklog)
			}
		}
		if fi.Size <= off {
			continue
		}
		b, err := readAt(t.root, fi.Path, off, fi.Size)
		if err != nil {
			continue
		}
		end := bytes.LastIndexByte(b, '\n')
		if end < 0 {
			continue
		}
		t.logs[fi.Path] = off + int64(end+1)
		if err := t.out.send("log", map[string]any{"name": fi.Name, "text": string(b[:end+1]), "from": off}); err != nil {
			return sent, err
		}
		sent = true
	}
	return sent, nil
}

func readAt(root *os.Root, name string, from, to int64) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, to-from)
	n, err := f.ReadAt(b, from)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return b[:n], nil
}
