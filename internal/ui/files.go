package ui

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// tailBytes bounds what ?tail= reads from the end of a file.
const tailBytes = 1 << 20

// handleFile answers GET /api/runs/{id}/files/{path}: a file of the run's
// directory as plain text (?tail=N: its last N lines). The path is refused
// when it is not clean or leaves the directory, and it is opened through
// the run's os.Root, which refuses a symlink that points outside too.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("path")
	if err := checkRel(rel); err != nil {
		writeError(w, err)
		return
	}
	tail, err := intParam(r.URL.Query().Get("tail"), 0, 0, 100000, "tail")
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
	f, err := root.Open(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		writeError(w, errorf(http.StatusNotFound, ECodeNotFound, "run "+rec.ID+" has no file "+rel))
		return
	case err != nil:
		writeError(w, errorf(http.StatusForbidden, ECodeForbidden, rel+" is not inside run "+rec.ID+"'s directory"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		writeError(w, errorf(http.StatusNotFound, ECodeNotFound, rel+" is not a file of run "+rec.ID))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	if tail == 0 {
		http.ServeContent(w, r, "", st.ModTime(), f)
		return
	}
	off := max(0, st.Size()-tailBytes)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		writeError(w, err)
		return
	}
	b, err := io.ReadAll(f)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Write(lastLines(b, tail, off > 0))
}

// checkRel refuses a path that is absolute, not clean, or climbs out with
// .., before anything is opened.
func checkRel(rel string) error {
	bad := rel == "" || strings.HasPrefix(rel, "/") || strings.Contains(rel, "\\") || strings.ContainsRune(rel, 0) ||
		path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.HasSuffix(rel, "/..")
	if bad {
		return errorf(http.StatusForbidden, ECodeForbidden, "path "+rel+" is not a clean path inside the run's directory")
	}
	return nil
}

// lastLines is the last n lines of b; cut says b starts mid-file, so its
// first line may be partial and is dropped when more than n are there.
func lastLines(b []byte, n int, cut bool) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	i := end
	for k := 0; k < n; k++ {
		j := bytes.LastIndexByte(b[:i], '\n')
		if j < 0 {
			if cut && i < end {
				return b[i+1:] // the first line read is partial
			}
			return b
		}
		i = j
	}
	return b[i+1:]
}
