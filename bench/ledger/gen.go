package main

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/magelab/magelab/internal/record"
)

// synthRun is one synthetic run, kept so that the MLflow store can be
// loaded with exactly the same runs.
type synthRun struct {
	ID         string
	Experiment string
	Started    time.Time
	Status     record.Status
	Duration   float64
	Params     map[string]any
	Metrics    map[string]float64 // final: finish metrics plus eval metrics
}

var (
	experiments = []string{"digits-mlp", "cifar-resnet18", "bert-finetune", "gpt-small", "vit-tiny"}
	lrs         = []float64{0.1, 0.03, 0.01, 0.003, 0.001, 0.0003}
	optimizers  = []string{"adam", "adamw", "sgd"}
	schedulers  = []string{"cosine", "linear", "constant"}
	activations = []string{"relu", "gelu", "silu"}
)

// generate writes a ledger of n runs into dir/runs/ledger.jsonl the way
// magelab writes one: a run.started then, later, a run.finished per run,
// four trials overlapping at a time, a fifth of the runs evaluated a few
// runs later, the newest two still running. It calls each(run) with every
// run's final state, oldest first, when each is not nil.
func generate(dir string, n int, seed uint64, each func(*synthRun)) (int64, error) {
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o755); err != nil {
		return 0, err
	}
	path := filepath.Join(dir, "runs", "ledger.jsonl")
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &gen{w: w, rng: rng, t: time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)}
	const slots = 4
	var evals []record.Event
	for i := 0; i < n; i += slots {
		batch := make([]*synthRun, 0, slots)
		for j := i; j < min(i+slots, n); j++ {
			r := g.run(j, j >= n-2)
			batch = append(batch, r)
			g.emit(g.started(r))
		}
		for _, r := range batch {
			if r.Status == record.StatusRunning {
				continue
			}
			g.emit(g.finished(r))
			if rng.IntN(5) == 0 && r.Status == record.StatusFinished {
				evals = append(evals, g.evaluated(r))
			}
		}
		if len(evals) > 6 { // evaluations land a few runs after the training
			for _, ev := range evals {
				g.emit(ev)
			}
			evals = evals[:0]
		}
		for _, r := range batch {
			if each != nil {
				each(r)
			}
		}
	}
	for _, ev := range evals {
		g.emit(ev)
	}
	if g.err != nil {
		return 0, g.err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

type gen struct {
	w   *bufio.Writer
	rng *rand.Rand
	t   time.Time
	err error
	sha string
}

func (g *gen) emit(ev record.Event) {
	b, err := json.Marshal(ev)
	if err != nil && g.err == nil {
		g.err = err
	}
	g.w.Write(append(b, '\n'))
}

// uuid7 builds a UUIDv7 for time t from the generator's random stream.
func (g *gen) uuid7(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], g.rng.Uint64())
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint64(b[:8], ms<<16|uint64(g.rng.Uint32()&0xfff))
	b[6] = 0x70 | b[6]&0x0f
	b[8] = 0x80 | b[8]&0x3f
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *gen) run(i int, running bool) *synthRun {
	rng := g.rng
	g.t = g.t.Add(time.Duration(20+rng.IntN(100)) * time.Second)
	if i%50 == 0 {
		sum := sha1.Sum([]byte(fmt.Sprint("commit", i)))
		g.sha = hex.EncodeToString(sum[:])
	}
	lr := lrs[rng.IntN(len(lrs))]
	r := &synthRun{
		ID: g.uuid7(g.t), Experiment: experiments[(i/200)%len(experiments)], Started: g.t,
		Params: map[string]any{
			"seed": rng.IntN(1000), "data.test_size": 0.2, "data.augment": rng.IntN(2) == 0,
			"train.lr": lr, "train.epochs": 10 + 10*rng.IntN(5), "train.batch_size": 32 << rng.IntN(4),
			"train.hidden": 64 << rng.IntN(3), "train.dropout": float64(rng.IntN(5)) / 10,
			"train.weight_decay": 0.01, "train.optimizer": optimizers[rng.IntN(3)],
			"train.momentum": 0.9, "train.warmup_steps": 100 * rng.IntN(10),
			"train.scheduler": schedulers[rng.IntN(3)], "train.grad_clip": 1.0, "train.device": "auto",
			"model.layers": 2 + rng.IntN(10), "model.heads": 4 << rng.IntN(2), "model.dim": 128 << rng.IntN(3),
			"model.activation": activations[rng.IntN(3)], "eval.batch_size": 256,
		},
		Metrics: map[string]float64{},
	}
	switch k := rng.IntN(100); {
	case k < 90:
		r.Status = record.StatusFinished
	case k < 97:
		r.Status = record.StatusFailed
	default:
		r.Status = record.StatusInterrupted
	}
	if running {
		r.Status = record.StatusRunning
	}
	r.Duration = 30 + rng.Float64()*3000
	acc := 0.5 + 0.49*rng.Float64()
	if r.Status == record.StatusFinished {
		r.Metrics = map[string]float64{
			"train_loss": 2 * (1 - acc) * rng.Float64(), "val_loss": 2 * (1 - acc), "val_accuracy": acc,
			"val_f1": acc - 0.02*rng.Float64(), "val_precision": acc - 0.01*rng.Float64(),
			"val_recall": acc - 0.03*rng.Float64(), "train_accuracy": min(1, acc+0.05*rng.Float64()),
			"epoch_time_s": 1 + 30*rng.Float64(), "throughput": 1000 + 9000*rng.Float64(), "lr_final": lr / 100,
		}
	} else {
		r.Metrics = map[string]float64{"train_loss": 2 * rng.Float64()}
	}
	return r
}

func (g *gen) started(r *synthRun) record.Event {
	return record.Event{
		Run: r.ID, Type: record.EventRunStarted, Time: r.Started, Experiment: r.Experiment,
		SweepID: fmt.Sprintf("sweep-%04d", r.Started.Unix()/86400%10000), Key: key(r.ID),
		Params: r.Params, Git: &record.GitBrief{SHA: g.sha, Branch: "main", Dirty: g.rng.IntN(10) == 0},
		GPU: "1x NVIDIA H200", Host: fmt.Sprintf("gpu-node-%02d", g.rng.IntN(8)),
		PID: 1000 + g.rng.IntN(60000), PIDStart: uint64(g.rng.Int64N(1 << 40)),
	}
}

func (g *gen) finished(r *synthRun) record.Event {
	code := map[record.Status]int{record.StatusFinished: 0, record.StatusFailed: 1, record.StatusInterrupted: 130}[r.Status]
	return record.Event{
		Run: r.ID, Type: record.EventRunFinished, Time: r.Started.Add(time.Duration(r.Duration * float64(time.Second))),
		Status: r.Status, ExitCode: &code, Duration: r.Duration, Metrics: maps(r.Metrics),
	}
}

func (g *gen) evaluated(r *synthRun) record.Event {
	m := map[string]float64{"test_accuracy": r.Metrics["val_accuracy"] - 0.02*g.rng.Float64(), "test_loss": r.Metrics["val_loss"] * 1.1}
	for k, v := range m {
		r.Metrics[k] = v
	}
	return record.Event{Run: r.ID, Type: record.EventRunEvaluated, Time: r.Started.Add(time.Hour), Metrics: m}
}

func maps(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}
