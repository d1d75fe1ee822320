package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"strings"
)

// assets are the pages: index.html, app.css, the ES modules under js/ and
// the vendored uPlot under vendor/ (scripts/vendor-ui.sh). Nothing else is
// fetched by the page.
//
//go:embed all:assets
var assets embed.FS

// importMap maps the modules' bare names to where the server has them
// ("mlab/..." for the page's own modules, "uplot" for the chart library),
// so that a report can map the same names to inline copies.
const importMap = `{"imports":{"uplot":"/assets/vendor/uplot/uPlot.esm.js","mlab/":"/assets/js/"}}`

// indexHTML is the page with its import map in place.
var indexHTML = func() []byte {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		panic(err)
	}
	return []byte(strings.Replace(string(b), "{{IMPORTMAP}}", importMap, 1))
}()

// contentSecurityPolicy keeps the page to its own origin: scripts only
// from the server (and the one inline import map, by its hash), requests
// only to the server, no frames.
var contentSecurityPolicy = "default-src 'none'; script-src 'self' '" + scriptHash(importMap) + "'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func scriptHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// assetHandler serves the page at / and the assets under /assets/.
func assetHandler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		switch {
		case r.URL.Path == "/" || r.URL.Path == "/index.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(indexHTML)
		case strings.HasPrefix(r.URL.Path, "/assets/") && !strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/assets/index.html":
			files.ServeHTTP(w, r)
		default:
			writeError(w, errorf(http.StatusNotFound, ECodeNotFound, "no page "+r.URL.Path+" (the UI's pages are under /#/)"))
		}
	})
}

// fsWalk calls f with every embedded asset (tests).
func fsWalk(f func(name string, b []byte)) error {
	return fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err == nil {
			f(p, b)
		}
		return err
	})
}
