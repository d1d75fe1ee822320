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
				if n, err := p.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
				}
			}
			if tt.flush {
				if err := p.Flush(); err != nil {
					t.Fatalf("Flush: %v", err)
				}
				if err := p.Flush(); err != nil {
					t.Fatalf("second Flush: %v", err)
				}
			}
			if got := out.String(); got != tt.want {
				t.Errorf("output = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPrefixWriterLongLine(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixWriter(&out, "> ")
	line := strings.Repeat("0123456789abcdef", 200<<10/16) // 200 KiB
	for chunk := range slices.Chunk([]byte(line), 7000) {
		p.Write(chunk)
		if len(p.buf) > procLineMax {
			t.Fatalf("holds %d bytes of one line, want at most %d", len(p.buf), procLineMax)
		}
	}
	p.Write([]byte("\nshort\n"))
	var joined strings.Builder
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for i, l := range lines[:len(lines)-1] {
		body, ok := strings.CutPrefix(l, "> ")
		if !ok || len(body) > procLineMax {
			t.Fatalf("piece %d: %d bytes, prefixed %v; want a prefixed piece of at most %d", i, len(l), ok, procLineMax)
		}
		joined.WriteString(body)
	}
	if joined.String() != line {
		t.Errorf("pieces join to %d bytes, want the %d-byte line", joined.Len(), len(line))
	}
	if want := 5; len(lines) != want {
		t.Errorf("got %d lines, want %d (four pieces and the short line)", len(lines), want)
	}
	if last := lines[len(lines)-1]; last != "> short" {
		t.Errorf("last line %q, want %q", last, "> short")
	}
}

func TestPrefixWriterLineOfExactlyMax(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixWriter(&out, "> ")
	line := strings.Repeat("x", procLineMax)
	p.Write([]byte(line + "\n"))
	if got, want := out.String(), "> "+line+"\n"; got != want {
		t.Errorf("a line of exactly %d bytes came out as %d bytes, want one line of %d", procLineMax, len(got), len(want))
	}
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
	if len(got) != writers*lines {
		t.Fatalf("got %d lines, want %d", len(got), writers*lines)
	}
	seen := map[string]bool{}
	for _, l := range got {
		m := re.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("torn line %q", l)
		}
		seen[m[1]+"/"+m[2]] = true
	}
	if len(seen) != writers*lines {
		t.Errorf("got %d distinct lines, want %d", len(seen), writers*lines)
	}
}

func TestPrefixWriterReportsWriteError(t *testing.T) {
	boom := errors.New("disk full")
	p := NewPrefixWriter(procFailingWriter{boom}, "> ")
	if _, err := p.Write([]byte("partial")); err != nil {
		t.Errorf("Write of a partial line = %v, want nil (nothing written yet)", err)
	}
	if err := p.Flush(); !errors.Is(err, boom) {
		t.Errorf("Flush = %v, want %v", err, boom)
	}
	if _, err := p.Write([]byte("line\n")); !errors.Is(err, boom) {
		t.Errorf("Write = %v, want %v", err, boom)
	}
}

type procFailingWriter struct{ err error }

func (f procFailingWriter) Write([]byte) (int, error) { return 0, f.err }
