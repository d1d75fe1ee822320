package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Hasher hashes file contents; the runner passes a stat-cached implementation.
type Hasher interface {
	HashFile(path string) (string, error)
}

// FileHasher is a plain sha256 implementation of Hasher: it reads the whole
// file every time.
type FileHasher struct{}

// HashFile returns the sha256 hex digest of the file's contents.
func (FileHasher) HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// keyVersion names the stage key encoding; bump it when the encoding changes
// so old cache entries stop matching.
const keyVersion = "magelab.stage-key.v1"

// missing is the content hash recorded for a declared dep that does not exist.
const missing = "missing"

// StageKey computes the cache key of stage: the sha256 hex digest of the
// canonical JSON (see Params.JSON) of the object
//
//	{"version":  "magelab.stage-key.v1",
//	 "stage":    stage name,
//	 "script":   the script path relative to Root ("" for a command stage),
//	 "cmd":      the raw cmd template ("" for a script stage),
//	 "metrics":  the raw metrics template ("" when none),
//	 "files":    [[path, sha256], ...] for ScriptFiles(stage), sorted by path,
//	 "deps":     [[path, sha256 or "missing"], ...] for every regular file of
//	             each declared dep (a directory: each file under it, skipping
//	             __pycache__ and .git), sorted by path,
//	 "params":   the param sections (SectionsFor) of this stage and of every
//	             stage before it in StageOrder, configured or not, when present,
//	 "seed":     the seed,
//	 "upstream": upstream (the keys of e.Upstream(stage), in order),
//	 "requirements": reqHash,
//	 "metric_patterns": the declared output patterns, only when there are any}
//
// Paths are relative to Root and slash-separated. Sections of stages after
// this one, the YAML's layout, comments and key order do not enter the key.
// upstream must hold one key per configured upstream stage.
func (e *Experiment) StageKey(stage string, upstream []string, reqHash string, h Hasher) (string, error) {
	doc, err := e.stageKeyDoc(stage, upstream, reqHash, h)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(doc)
	return hex.EncodeToString(sum[:]), nil
}

// stageKeyDoc returns the canonical JSON document StageKey hashes.
func (e *Experiment) stageKeyDoc(stage string, upstream []string, reqHash string, h Hasher) ([]byte, error) {
	s, ok := e.Stage(stage)
	if !ok {
		return nil, fmt.Errorf("stage key: stage %q is not configured in %s", stage, display(e.Root, e.File))
	}
	if want := len(e.Upstream(stage)); len(upstream) != want {
		return nil, fmt.Errorf("stage key %s: got %d upstream keys, want %d (one per configured upstream stage)", stage, len(upstream), want)
	}
	if h == nil {
		h = FileHasher{}
	}
	files, err := e.ScriptFiles(stage)
	if err != nil {
		return nil, fmt.Errorf("stage key %s: %w", stage, err)
	}
	fileHashes, err := hashFiles(e.Root, files, h)
	if err != nil {
		return nil, fmt.Errorf("stage key %s: %w", stage, err)
	}
	depHashes, err := hashDeps(e.Root, s.Deps, h)
	if err != nil {
		return nil, fmt.Errorf("stage key %s: %w", stage, err)
	}
	doc := map[string]any{
		"version":      keyVersion,
		"stage":        stage,
		"script":       s.Script,
		"cmd":          s.Cmd,
		"metrics":      s.Metrics,
		"files":        fileHashes,
		"deps":         depHashes,
		"params":       map[string]any(e.Params.Select(keySections(stage)...)),
		"seed":         e.Seed,
		"upstream":     append([]string{}, upstream...),
		"requirements": reqHash,
	}
	if len(s.Patterns) > 0 { // only then, so that the keys of stages without patterns stay as they were
		pats := make([]any, len(s.Patterns))
		for i, re := range s.Patterns {
			pats[i] = re.String()
		}
		doc["metric_patterns"] = pats
	}
	return canonicalJSON(nil, doc), nil
}

// keySections lists the sections of stage and of every stage before it.
func keySections(stage string) []string {
	var out []string
	for _, s := range StageOrder {
		for _, sec := range SectionsFor(s) {
			if !slices.Contains(out, sec) {
				out = append(out, sec)
			}
		}
		if s == stage {
			break
		}
	}
	return out
}

// hashFiles returns [[path, hash], ...] for root-relative paths.
func hashFiles(root string, files []string, h Hasher) ([]any, error) {
	out := make([]any, 0, len(files))
	for _, f := range files {
		sum, err := h.HashFile(rootJoin(root, f))
		if err != nil {
			return nil, err
		}
		out = append(out, []any{f, sum})
	}
	return out, nil
}

// hashDeps returns [[path, hash], ...] for every file of the declared deps,
// sorted by path; a dep that does not exist (yet) is recorded as missing, so
// its appearance changes the key.
func hashDeps(root string, deps []string, h Hasher) ([]any, error) {
	byPath := map[string]string{}
	for _, dep := range deps {
		abs := rootJoin(root, dep)
		info, err := os.Stat(abs)
		if err != nil {
			byPath[depName(root, abs)] = missing
			continue
		}
		if !info.IsDir() {
			sum, err := h.HashFile(abs)
			if err != nil {
				return nil, err
			}
			byPath[depName(root, abs)] = sum
			continue
		}
		if err := hashDir(root, abs, h, byPath); err != nil {
			return nil, err
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	out := make([]any, 0, len(paths))
	for _, p := range paths {
		out = append(out, []any{p, byPath[p]})
	}
	return out, nil
}

// hashDir hashes every regular file under dir (following file symlinks,
// skipping Python caches and VCS directories).
func hashDir(root, dir string, h Hasher, byPath map[string]string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("hash dep %s: %w", display(root, p), err)
		}
		if d.IsDir() {
			if p != dir && (d.Name() == "__pycache__" || d.Name() == ".git") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		sum, err := h.HashFile(p)
		if err != nil {
			return err
		}
		byPath[depName(root, p)] = sum
		return nil
	})
}

// depName names a dep file in the key: relative to root when inside it.
func depName(root, abs string) string {
	return filepath.ToSlash(display(root, abs))
}

// cmdFiles returns the files a command names: each whitespace-separated token
// of cmd (and the value of a --flag=value token), unquoted, that is a regular
// file inside root. ${root}/ at the start of a token is understood; tokens with
// other ${...} are skipped since their value is not known before a run.
func cmdFiles(root, cmd string) []string {
	var out []string
	for _, tok := range strings.Fields(cmd) {
		cands := []string{tok}
		if _, v, ok := strings.Cut(tok, "="); ok {
			cands = append(cands, v)
		}
		for _, c := range cands {
			c = strings.Trim(c, `'"`)
			c = strings.TrimPrefix(c, "${root}/")
			if c == "" || strings.Contains(c, "$") {
				continue
			}
			abs := rootJoin(root, c)
			if inside(root, abs) && fileExists(abs) && !slices.Contains(out, display(root, abs)) {
				out = append(out, display(root, abs))
			}
		}
	}
	return out
}
