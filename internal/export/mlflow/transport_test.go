package mlflow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
)

// recorder is an http.RoundTripper that records the requests an export
// makes, and can cut it off half-way: cancel its context after a number of
// requests, or let a request reach the server and lose its answer, as a
// dropped connection does.
type recorder struct {
	mu   sync.Mutex
	reqs []seenRequest
	// cutAfter > 0: the request after that many is not sent, and cancel is
	// called (Ctrl-C half-way).
	cutAfter int
	cancel   context.CancelFunc
	// lose, when it says so, lets a request through and loses its answer.
	lose func(n int, r seenRequest) bool
}

// seenRequest is one request: its method, its path under /api/2.0/ and
// its body (for JSON requests).
type seenRequest struct {
	Method, Path string
	Body         []byte
}

func (s seenRequest) String() string { return s.Method + " " + s.Path }

// write reports whether the request changes something on the server.
func (s seenRequest) write() bool {
	return s.Method != http.MethodGet && !strings.HasSuffix(s.Path, "runs/search")
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := seenRequest{Method: req.Method, Path: strings.TrimPrefix(req.URL.Path, "/api/2.0/")}
	if req.Body != nil && req.Header.Get("Content-Type") == "application/json" {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		s.Body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	rec.mu.Lock()
	n := len(rec.reqs)
	if rec.cutAfter > 0 && n >= rec.cutAfter {
		rec.mu.Unlock()
		rec.cancel()
		return nil, context.Canceled
	}
	rec.reqs = append(rec.reqs, s)
	lose := rec.lose != nil && rec.lose(n, s)
	rec.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && lose {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (the test lost this answer)")
	}
	return resp, err
}

// requests are the requests seen so far.
func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seenRequest(nil), rec.reqs...)
}

// writes are the requests that changed something.
func (rec *recorder) writes() []seenRequest {
	var out []seenRequest
	for _, s := range rec.requests() {
		if s.write() {
			out = append(out, s)
		}
	}
	return out
}
