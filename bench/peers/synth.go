package peers

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/magelab/magelab/internal/ledger"
	"github.com/magelab/magelab/internal/record"
)

// synthRun is one synthetic run of the toy experiment, written into every
// tool's store so that all four hold the same runs: 20 params (the toy's
// sections, seed, data.*, train.*) and 10 metrics, about what a real
// training run records; 90% finished, 7% failed, 3% interrupted.
type synthRun struct {
	ID       string // UUIDv7: magelab's id; Guild's without the dashes
	Started  time.Time
	Status   record.Status
	Duration float64
	Params   map[string]any // flat, dotted keys
	Metrics  map[string]float64
}

var (
	lrs        = []float64{0.1, 0.03, 0.01, 0.003, 0.001, 0.0003}
	optimizers = []string{"adam", "adamw", "sgd"}
	schedulers = []string{"cosine", "linear", "constant"}
)

// synthRuns makes n runs, oldest first, the same for a given seed.
func synthRuns(n int, seed uint64) []*synthRun {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	runs := make([]*synthRun, n)
	for i := range runs {
		t = t.Add(time.Duration(20+rng.IntN(100)) * time.Second)
		lr := lrs[rng.IntN(len(lrs))]
		r := &synthRun{ID: uuid7(rng, t), Started: t, Duration: 30 + rng.Float64()*3000, Params: map[string]any{
			"seed": rng.IntN(1000), "data.n": i, "data.test_size": 0.2, "data.augment": rng.IntN(2) == 0,
			"train.lr": lr, "train.hidden": 32 << rng.IntN(4), "train.sleep": 0, "train.round": 0,
			"train.epochs": 10 + 10*rng.IntN(5), "train.batch_size": 32 << rng.IntN(4),
			"train.dropout": float64(rng.IntN(5)) / 10, "train.weight_decay": 0.01,
			"train.optimizer": optimizers[rng.IntN(3)], "train.momentum": 0.9,
			"train.warmup_steps": 100 * rng.IntN(10), "train.scheduler": schedulers[rng.IntN(3)],
			"train.grad_clip": 1.0, "train.layers": 2 + rng.IntN(10), "train.heads": 4 << rng.IntN(2),
			"train.dim": 128 << rng.IntN(3),
		}}
		switch k := rng.IntN(100); {
		case k < 90:
			r.Status = record.StatusFinished
		case k < 97:
			r.Status = record.StatusFailed
		default:
			r.Status = record.StatusInterrupted
		}
		acc := 0.5 + 0.49*rng.Float64()
		r.Metrics = map[string]float64{
			"train_loss": 2 * (1 - acc) * rng.Float64(), "val_loss": 2 * (1 - acc), "val_accuracy": acc,
			"val_f1": acc - 0.02*rng.Float64(), "val_precision": acc - 0.01*rng.Float64(),
			"val_recall": acc - 0.03*rng.Float64(), "train_accuracy": min(1, acc+0.05*rng.Float64()),
			"epoch_time_s": 1 + 30*rng.Float64(), "throughput": 1000 + 9000*rng.Float64(), "lr_final": lr / 100,
		}
		runs[i] = r
	}
	return runs
}

// uuid7 builds a UUIDv7 for time t from rng.
func uuid7(rng *rand.Rand, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], rng.Uint64())
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16|uint64(rng.Uint32()&0xfff))
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeLedger appends the runs to a magelab ledger in dir/runs through
// tracking.Ledger.Append, the path every run takes: run.started, then
// run.finished with the status and metrics.
func writeLedger(dir string, runs []*synthRun) error {
	l := ledger.Open(dir)
	for i, r := range runs {
		sum := sha256.Sum256([]byte(r.ID))
		code := map[record.Status]int{record.StatusFinished: 0, record.StatusFailed: 1, record.StatusInterrupted: 130}[r.Status]
		started := record.Event{Run: r.ID, Type: record.EventRunStarted, Time: r.Started, Experiment: "toy",
			Key: hex.EncodeToString(sum[:]), Params: r.Params, Host: "bench", PID: 1000 + i%60000,
			Git: &record.GitBrief{SHA: hex.EncodeToString(sum[:20]), Branch: "main"}}
		finished := record.Event{Run: r.ID, Type: record.EventRunFinished, Status: r.Status, ExitCode: &code,
			Time: r.Started.Add(time.Duration(r.Duration * float64(time.Second))), Duration: r.Duration, Metrics: r.Metrics}
		if r.Status != record.StatusFinished {
			finished.Metrics = map[string]float64{"train_loss": r.Metrics["train_loss"]}
		}
		if err := l.Append(started); err != nil {
			return err
		}
		if err := l.Append(finished); err != nil {
			return err
		}
	}
	return nil
}

// writeRunsJSONL writes the runs in the format bench/ledger/mlflow_bench.py
// loads (and guild_gen.py reads): id, experiment, started (unix ms), status,
// duration_s, params, metrics. Unfinished runs carry train_loss only, as in
// the ledger.
func writeRunsJSONL(path string, runs []*synthRun) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, r := range runs {
		m := r.Metrics
		if r.Status != record.StatusFinished {
			m = map[string]float64{"train_loss": r.Metrics["train_loss"]}
		}
		if err := enc.Encode(map[string]any{"id": r.ID, "experiment": "toy", "started": r.Started.UnixMilli(),
			"status": r.Status, "duration_s": r.Duration, "params": r.Params, "metrics": m}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// nested turns dotted keys into sections, as params.json holds them.
func nested(flat map[string]any) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		section, name, ok := strings.Cut(k, ".")
		if !ok {
			out[k] = flat[k]
			continue
		}
		m, _ := out[section].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[section] = m
		}
		m[name] = flat[k]
	}
	return out
}

// dvcExpName is the experiment name a run gets in DVC: unique, short.
func dvcExpName(id string) string { return "r-" + strings.ReplaceAll(id, "-", "")[20:] }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return string(b)
}
