package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/ledger"
)

// Server is the UI's HTTP server: the API under /api/ and the embedded
// pages. It holds what its handlers need and nothing they change.
type Server struct {
	Ledger *ledger.Ledger
	// Token, when set, must come with every request: as ?token= on the
	// first visit (the answer sets it as a cookie) or as that cookie. The
	// target sets one whenever the host is not a loopback address.
	Token string
	// Poll is how often live routes look at a run's files (default 500 ms).
	Poll time.Duration

	series  *seriesCache
	lists   *listCache
	records recordCache
}

// cookieName is the cookie that carries the token.
const cookieName = "magelab_token"

// NewServer returns a Server over l.
func NewServer(l *ledger.Ledger) *Server {
	return &Server{Ledger: l, Poll: 500 * time.Millisecond, series: newSeriesCache(32), lists: newListCache(16)}
}

// NewToken returns a random token for a server reachable from elsewhere.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// IsLoopback reports whether host (a name or an address) is only reachable
// from this machine.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler is the server's routes behind its guards: read-only, the token,
// and headers that keep the page to its own origin.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/runs", s.handleRuns)
	mux.HandleFunc("GET /api/runs/{id}", s.handleRun)
	mux.HandleFunc("GET /api/runs/{id}/series", s.handleSeries)
	mux.HandleFunc("GET /api/runs/{id}/gpu", s.handleGPU)
	mux.HandleFunc("GET /api/runs/{id}/files/{path...}", s.handleFile)
	mux.HandleFunc("GET /api/runs/{id}/events", s.handleRunEvents)
	mux.HandleFunc("GET /api/sweeps", s.handleSweeps)
	mux.HandleFunc("GET /api/sweeps/{id}", s.handleSweep)
	mux.HandleFunc("GET /api/events", s.handleEvents)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(http.StatusNotFound, ECodeNotFound, "no API route "+r.URL.Path+" (see docs/ui.md)"))
	})
	mux.Handle("GET /", assetHandler())
	return s.guard(mux)
}

// guard answers only GET and HEAD, checks the token, and sets the headers
// every answer gets.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			writeError(w, errorf(http.StatusMethodNotAllowed, ECodeMethod, "the UI is read-only: "+r.Method+" is not served"))
			return
		}
		if p := r.URL.Path; p != "/" && path.Clean(p) != strings.TrimSuffix(p, "/") {
			// Refused here rather than redirected to the cleaned path by
			// the mux: a path that climbs is an attempt, not a typo.
			writeError(w, errorf(http.StatusForbidden, ECodeForbidden, "path "+p+" is not clean"))
			return
		}
		if s.Token == "" {
			// Loopback only: refuse a Host that is not, so a page elsewhere
			// cannot reach the UI by rebinding its own name to 127.0.0.1.
			if !loopbackHost(r.Host) {
				writeError(w, errorf(http.StatusForbidden, ECodeForbidden, "host "+r.Host+" is not a loopback address"))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		switch s.authorize(w, r) {
		case authOK:
			next.ServeHTTP(w, r)
		case authRefused:
			writeError(w, errorf(http.StatusUnauthorized, ECodeUnauthorized, "open the address magelab printed at start-up (it carries ?token=)"))
		}
	})
}

// authorization is how a request stands with the token.
type authorization int

const (
	authOK         authorization = iota
	authRefused                  // no token, or a wrong one
	authRedirected               // the token came in the query: answered with the cookie and a redirect
)

// authorize checks the cookie, or the token in the query, which it then
// sets as a cookie and strips from the address with a redirect.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) authorization {
	if c, err := r.Cookie(cookieName); err == nil && s.tokenOK(c.Value) {
		return authOK
	}
	q := r.URL.Query()
	if !s.tokenOK(q.Get("token")) {
		return authRefused
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	q.Del("token")
	u := *r.URL
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return authRedirected
}

func (s *Server) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.Token)) == 1
}

// loopbackHost reports whether a request's Host header names this machine.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return host == "" || IsLoopback(host)
}
