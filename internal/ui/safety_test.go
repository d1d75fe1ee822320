package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileRoutesStayInTheRunDirectory(t *testing.T) {
	l := sixRuns(t)
	dir := l.RunDir(runID(1))
	secret := filepath.Join(filepath.Dir(l.Dir), "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("top secret"), 0o600))
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "link-out")))
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "etc")))
	require.NoError(t, os.Symlink("git.patch", filepath.Join(dir, "link-in")))
	h := NewServer(l).Handler()
	base := "/api/runs/00000001/files/"
	for name, tc := range map[string]struct {
		path   string
		status int
	}{
		"DotDot":          {"../secret.txt", http.StatusForbidden},
		"DotDotEncoded":   {"%2e%2e/secret.txt", http.StatusForbidden},
		"DotDotSlashes":   {"logs/%2e%2e/%2e%2e/secret.txt", http.StatusForbidden},
		"OtherRun":        {"..%2f" + runID(2) + "%2frun.json", http.StatusForbidden},
		"Absolute":        {"%2fetc%2fpasswd", http.StatusForbidden},
		"NotClean":        {"logs//train.log", http.StatusForbidden},
		"SymlinkOut":      {"link-out", http.StatusForbidden},
		"SymlinkDirOut":   {"etc/passwd", http.StatusForbidden},
		"Missing":         {"nope.txt", http.StatusNotFound},
		"Directory":       {"logs", http.StatusNotFound},
		"SymlinkInsideOK": {"link-in", http.StatusOK},
		"PlainFileOK":     {"logs/train.log", http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			code, body, _ := get(t, h, base+tc.path)
			assert.Equal(t, tc.status, code, body)
			assert.NotContains(t, body, "top secret")
			assert.NotContains(t, body, "root:")
		})
	}
	t.Run("Tail", func(t *testing.T) {
		code, body, _ := get(t, h, base+"logs/train.log?tail=2")
		require.Equal(t, http.StatusOK, code)
		assert.Equal(t, "line 2\nline 3\n", body)
	})
}

func TestEscaping(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	t.Run("JSONEscapesMarkup", func(t *testing.T) {
		_, body, hdr := get(t, h, "/api/runs?exp=cnn")
		assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"))
		assert.NotContains(t, body, "<img", "a value from a run, raw in JSON, could close a <script> it is inlined in")
		assert.Contains(t, body, `\u003cimg src=x onerror=alert(1)\u003e`)
	})
	t.Run("FilesArePlainText", func(t *testing.T) {
		_, body, hdr := get(t, h, "/api/runs/00000001/files/git.patch")
		assert.Contains(t, body, "<script>", "served as it is, but as text")
		assert.Equal(t, "text/plain; charset=utf-8", hdr.Get("Content-Type"))
		assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))
		assert.Contains(t, hdr.Get("Content-Security-Policy"), "sandbox")
	})
	t.Run("PageKeepsToItsOrigin", func(t *testing.T) {
		code, body, hdr := get(t, h, "/")
		require.Equal(t, http.StatusOK, code)
		csp := hdr.Get("Content-Security-Policy")
		assert.Contains(t, csp, "script-src 'self' 'sha256-")
		assert.Contains(t, csp, "connect-src 'self'")
		assert.NotContains(t, body, "http://", "nothing fetched from elsewhere")
		assert.NotContains(t, body, "https://")
	})
	t.Run("NoModuleBuildsMarkupFromStrings", func(t *testing.T) {
		err := fsWalk(func(name string, b []byte) {
			if strings.HasPrefix(name, "assets/vendor/") {
				return
			}
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
				assert.NotContains(t, string(b), bad, "%s builds markup from a string", name)
			}
			assert.NotRegexp(t, `https?://`, string(b), "%s names a remote address", name)
		})
		require.NoError(t, err)
	})
}

func TestReadOnly(t *testing.T) {
	h := NewServer(sixRuns(t)).Handler()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req := httptest.NewRequest(m, "/api/runs", strings.NewReader("{}"))
		req.Host = "127.0.0.1:8080"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, m)
		assert.Contains(t, rec.Body.String(), ECodeMethod, m)
	}
}

func TestLoopbackAndToken(t *testing.T) {
	l := sixRuns(t)
	t.Run("ForeignHostRefused", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/api/runs", nil)
		req.Host = "attacker.example:8080"
		rec := httptest.NewRecorder()
		NewServer(l).Handler().ServeHTTP(rec, req)
		assert.Equal(t, http.StatusForbidden, rec.Code, "a DNS-rebound name must not reach a loopback UI")
	})
	s := NewServer(l)
	s.Token = "s3cret"
	h := s.Handler()
	do := func(target string, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Host = "10.1.2.3:8080"
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	t.Run("NoTokenRefused", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, do("/api/runs", nil).Code)
		assert.Equal(t, http.StatusUnauthorized, do("/", nil).Code)
	})
	t.Run("WrongTokenRefused", func(t *testing.T) {
		assert.Equal(t, http.StatusUnauthorized, do("/?token=nope", nil).Code)
		assert.Equal(t, http.StatusUnauthorized, do("/api/runs", &http.Cookie{Name: cookieName, Value: "nope"}).Code)
	})
	t.Run("TokenBecomesCookie", func(t *testing.T) {
		rec := do("/?token=s3cret", nil)
		require.Equal(t, http.StatusSeeOther, rec.Code)
		assert.Equal(t, "/", rec.Header().Get("Location"), "the token leaves the address bar")
		cookies := rec.Result().Cookies()
		require.Len(t, cookies, 1)
		assert.True(t, cookies[0].HttpOnly)
		assert.Equal(t, http.StatusOK, do("/api/runs", cookies[0]).Code)
	})
	assert.True(t, IsLoopback("127.0.0.1"))
	assert.True(t, IsLoopback("::1"))
	assert.True(t, IsLoopback("localhost"))
	assert.False(t, IsLoopback("0.0.0.0"))
	assert.False(t, IsLoopback("192.168.1.4"))
}
