package metrics

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadEventFile reads a 100,000-step, 5-tag event file (the
// figure of bench/tfevents, where TensorBoard's EventAccumulator reads the
// same file).
func BenchmarkReadEventFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "events.out.tfevents.1.bench")
	eventFile(b, path, 100_000, "Loss/train", "Loss/test", "lr", "grad_norm", "tokens_per_s")
	info, _ := os.Stat(path)
	b.SetBytes(info.Size())
	b.ReportAllocs()
	for b.Loop() {
		ef, err := ReadEventFile(path)
		if err != nil || len(ef.Series["lr"]) != 100_000 {
			b.Fatal(err)
		}
	}
}
