package runner

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrefixWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		flush  bool
		want   string
	}{
		{name: "WholeLines", writes: []string{"a\nb\n"}, want: "[p] a\n[p] b\n"},
		{name: "LinesSplitAcrossWrites", writes: []string{"he", "llo\nwo", "", "rld\n"},
			want: "[p] hello\n[p] world\n"},
		{name: "PartialLineHeldBack", writes: []string{"a\nbc"}, want: "[p] a\n"},
		{name: "FlushWritesPartialLine", writes: []string{"a\nbc"}, flush: true, want: "[p] a\n[p] bc\n"},
		{name: "FlushWithNothingPending", writes: []string{"a\n"}, flush: true, want: "[p] a\n"},
		{name: "EmptyLinesKeepPrefix", writes: []string{"\n\n"}, want: "[p] \n[p] \n"},
		{name: "CarriageReturnEndsLine", writes: []string{"10%\r20%\r100%\n"},
			want: "[p] 10%\r[p] 20%\r[p] 100%\n"},
		{name: "LeadingCarriageReturnPassesThrough", writes: []string{"\r10%", "\r20%", "\n"},
			want: "\r[p] 10%\r[p] 20%\n"},
		{name: "CRLFIsOneLineEnd", writes: []string{"a\r\nb\r\n"}, want: "[p] a\r\n[p] b\r\n"},
		{name: "CRLFSplitAcrossWrites", writes: []string{"a\r", "\nb\n"}, want: "[p] a\r\n[p] b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := NewPrefixWriter(&out, "[p] ")
			for _, w := range tt.writes {
				n, err := p.Write([]byte(w))
				require.NoError(t, err, "Write(%q)", w)
				require.Equal(t, len(w), n, "Write(%q)", w)
			}
			if tt.flush {
				require.NoError(t, p.Flush(), "Flush")
				require.NoError(t, p.Flush(), "second Flush")
			}
			assert.Equal(t, tt.want, out.String(), "output")
		})
	}
}

func TestPrefixWriterLongLine(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixWriter(&out, "> ")
	line := strings.Repeat("0123456789abcdef", 200<<10/16) // 200 KiB
	for chunk := range slices.Chunk([]byte(line), 7000) {
		p.Write(chunk)
		require.LessOrEqual(t, len(p.buf), procLineMax, "bytes of one line held")
	}
	p.Write([]byte("\nshort\n"))
	var joined strings.Builder
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i, l := range lines[:len(lines)-1] {
		body, ok := strings.CutPrefix(l, "> ")
		require.True(t, ok, "piece %d: %d bytes, prefixed %v; want a prefixed piece of at most %d", i, len(l), ok, procLineMax)
		require.LessOrEqual(t, len(body), procLineMax, "piece %d: %d bytes, prefixed %v; want a prefixed piece of at most %d", i, len(l), ok, procLineMax)
		joined.WriteString(body)
	}
	assert.Equal(t, line, joined.String(), "pieces join to %d bytes, want the %d-byte line", joined.Len(), len(line))
	assert.Len(t, lines, 5, "lines, want four pieces and the short line")
	assert.Equal(t, "> short", lines[len(lines)-1], "last line")
}

func TestPrefixWriterLineOfExactlyMax(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixWriter(&out, "> ")
	line := strings.Repeat("x", procLineMax)
	p.Write([]byte(line + "\n"))
	got, want := out.String(), "> "+line+"\n"
	assert.Equal(t, want, got, "a line of exactly %d bytes came out as %d bytes, want one line of %d", procLineMax, len(got), len(want))
}

func TestPrefixWriterConcurrentWritersKeepWholeLines(t *testing.T) {
	const writers, lines = 8, 300
	var out bytes.Buffer // not safe for concurrent use: the PrefixWriter must serialise
	p := NewPrefixWriter(&out, "[x] ")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(p, "writer %d line %d %s\n", w, i, strings.Repeat("y", i%50))
			}
		})
	}
	wg.Wait()
	re := regexp.MustCompile(`^\[x\] writer (\d) line (\d+) y*$`)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, got, writers*lines, "lines")
	seen := map[string]bool{}
	for _, l := range got {
		m := re.FindStringSubmatch(l)
		require.NotNil(t, m, "torn line %q", l)
		seen[m[1]+"/"+m[2]] = true
	}
	assert.Len(t, seen, writers*lines, "distinct lines")
}

func TestPrefixWriterReportsWriteError(t *testing.T) {
	boom := errors.New("disk full")
	p := NewPrefixWriter(procFailingWriter{boom}, "> ")
	_, err := p.Write([]byte("partial"))
	assert.NoError(t, err, "Write of a partial line, want nil (nothing written yet)")
	assert.ErrorIs(t, p.Flush(), boom, "Flush")
	_, err = p.Write([]byte("line\n"))
	assert.ErrorIs(t, err, boom, "Write")
}

type procFailingWriter struct{ err error }

func (f procFailingWriter) Write([]byte) (int, error) { return 0, f.err }
