package mlflow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Level is which of a run's files are exported as artifacts.
type Level string

// The artifact levels of -artifacts.
const (
	// ArtifactsNone exports no file.
	ArtifactsNone Level = "none"
	// ArtifactsMeta exports the run's record: run.json, params.yaml,
	// git.patch, pip-freeze.txt, gpu.csv, the stage logs and the saved
	// untracked files. It is the default.
	ArtifactsMeta Level = "meta"
	// ArtifactsAll adds everything else in the run's directory: the train
	// stage's out/ (the model) and eval/.
	ArtifactsAll Level = "all"
)

// DefaultMaxBytes is the largest file exported (-artifactMiB); larger ones
// are left out with a warning.
const DefaultMaxBytes = 100 << 20

// ParseLevel reads -artifacts ("" is meta).
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToLower(strings.TrimSpace(s))); l {
	case "":
		return ArtifactsMeta, nil
	case ArtifactsNone, ArtifactsMeta, ArtifactsAll:
		return l, nil
	}
	return "", fmt.Errorf("-artifacts=%s: want none, meta (the run's record, logs and patch; the default) or all (its outputs too)", s)
}

// metaFiles and metaDirs are what ArtifactsMeta exports of a run's
// directory.
var (
	metaFiles = []string{"run.json", "params.yaml", "git.patch", "pip-freeze.txt", "gpu.csv"}
	metaDirs  = []string{"logs", "untracked"}
)

// hashLimit is the largest file whose content is hashed for the export's
// mark; a larger one (a model) counts by its size and modification time,
// so that an export does not read every model again. (A copy of the run
// elsewhere, with other times, is compared with the server by size.)
const hashLimit = 1 << 20

// file is one artifact: a file of the run's directory, or generated
// content (a sweep's sweep.json).
type file struct {
	Path  string // the artifact path, slash-separated
	Size  int64
	Sum   string // sha256 of the content; past hashLimit, its modification time
	Local string // the file on disk; "" for Data
	Data  []byte
	// Changes marks a file rewritten in place as the run changes
	// (run.json): when a run changed it is sent again even if the server
	// has one of the same size.
	Changes bool
}

// open gives the file's content for an upload.
func (f file) open() (io.ReadCloser, int64, error) {
	if f.Local == "" {
		return io.NopCloser(bytes.NewReader(f.Data)), int64(len(f.Data)), nil
	}
	h, err := os.Open(f.Local)
	if err != nil {
		return nil, 0, err
	}
	st, err := h.Stat()
	if err != nil {
		h.Close()
		return nil, 0, err
	}
	return h, st.Size(), nil
}

// dataFile is generated content as an artifact.
func dataFile(path string, data []byte) file {
	sum := sha256.Sum256(data)
	return file{Path: path, Size: int64(len(data)), Sum: hex.EncodeToString(sum[:]), Data: data, Changes: true}
}

// runFiles lists the files of dir that level exports, sorted by path,
// leaving out (with a warning) those over maxBytes and anything that is
// not a regular file.
func runFiles(dir string, level Level, maxBytes int64) ([]file, []string) {
	if level == ArtifactsNone || level == "" {
		return nil, nil
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	var out []file
	var warnings []string
	add := func(path string, d fs.DirEntry) {
		if !d.Type().IsRegular() {
			return
		}
		info, err := d.Info()
		if err != nil {
			return
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if info.Size() > maxBytes {
			warnings = append(warnings, fmt.Sprintf("artifact %s (%s) is over the %s cap (-artifactMiB): left out", rel, mib(info.Size()), mib(maxBytes)))
			return
		}
		f := file{Path: rel, Size: info.Size(), Local: path, Changes: rel == "run.json"}
		f.Sum = "mtime:" + strconv.FormatInt(info.ModTime().UnixNano(), 10)
		if info.Size() <= hashLimit {
			sum, err := hashFile(path)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("artifact %s: %v", rel, err))
				return
			}
			f.Sum = sum
		}
		out = append(out, f)
	}
	walk := func(root string) {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil {
				add(path, d)
			}
			return nil
		})
	}
	if level == ArtifactsAll {
		walk(dir)
	} else {
		for _, name := range metaFiles {
			if info, err := os.Lstat(filepath.Join(dir, name)); err == nil {
				add(filepath.Join(dir, name), fs.FileInfoToDirEntry(info))
			}
		}
		for _, d := range metaDirs {
			walk(filepath.Join(dir, d))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, warnings
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// size is a byte count as a summary shows it.
func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return mib(n)
}
