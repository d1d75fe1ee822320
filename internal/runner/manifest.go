package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// manifestName is the file in a stage cache entry that lists its outputs.
const manifestName = "manifest.tsv"

// manifest lists a cached stage's output files. It is stored as text: a JSON
// header line, then one line per file, "size<TAB>mtime_ns<TAB>sha256<TAB>path".
// A data stage may write tens of thousands of files, and this format parses
// several times faster than the same list in JSON.
type manifest struct {
	Stage    string         `json:"stage"`
	Key      string         `json:"key"`
	Computed time.Time      `json:"computed"`
	Files    []manifestFile `json:"-"`
}

type manifestFile struct {
	Path    string
	Size    int64
	MtimeNS int64
	Sum     string
}

func (m manifest) encode() []byte {
	head, _ := json.Marshal(m)
	var b bytes.Buffer
	b.Write(head)
	b.WriteByte('\n')
	for _, f := range m.Files {
		fmt.Fprintf(&b, "%d\t%d\t%s\t%s\n", f.Size, f.MtimeNS, f.Sum, encodePath(f.Path))
	}
	return b.Bytes()
}

func parseManifest(b []byte) (manifest, error) {
	var m manifest
	head, rest, _ := bytes.Cut(b, []byte{'\n'})
	if err := json.Unmarshal(head, &m); err != nil {
		return m, fmt.Errorf("manifest header: %w", err)
	}
	m.Files = make([]manifestFile, 0, bytes.Count(rest, []byte{'\n'}))
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		f, err := parseManifestLine(line)
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, f)
	}
	return m, nil
}

func parseManifestLine(line []byte) (manifestFile, error) {
	var f manifestFile
	fields := bytes.SplitN(line, []byte{'\t'}, 4)
	if len(fields) != 4 {
		return f, errors.New("manifest: malformed line")
	}
	var err1, err2 error
	f.Size, err1 = strconv.ParseInt(string(fields[0]), 10, 64)
	f.MtimeNS, err2 = strconv.ParseInt(string(fields[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return f, errors.New("manifest: malformed size or mtime")
	}
	f.Sum, f.Path = string(fields[2]), string(fields[3])
	if strings.HasPrefix(f.Path, `"`) {
		p, err := strconv.Unquote(f.Path)
		if err != nil {
			return f, errors.New("manifest: malformed path")
		}
		f.Path = p
	}
	return f, nil
}

// encodePath quotes the rare path that would break a line: one holding a
// tab, a newline or starting with a quote.
func encodePath(p string) string {
	if strings.ContainsAny(p, "\t\n\r") || strings.HasPrefix(p, `"`) {
		return strconv.Quote(p)
	}
	return p
}
