package peers

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// figureRun times one tracked run of the trivial pipeline with every tool,
// each run made new by a changed data.n (so all three stages run), against
// the three scripts run with bare python.
func (b *bench) figureRun(ctx context.Context) ([]*Result, error) {
	n := 0
	next := func() string { n++; return strconv.Itoa(n) }
	m, d, g, ml := b.proj["magelab"], b.proj["dvc"], b.proj["guild"], b.proj["mlflow"]
	bareOut := filepath.Join(b.work, "bare")
	py := filepath.Join(b.toyVenv, "bin", "python")
	bare := func(ctx context.Context) error {
		os.RemoveAll(bareOut)
		steps := [][]string{
			{"python/setup_data.py", "--params", "params.json", "--out", bareOut + "/data"},
			{"python/preprocess.py", "--params", "params.json", "--in", bareOut + "/data", "--out", bareOut + "/prep"},
			{"python/train.py", "--params", "params.json", "--in", bareOut + "/prep", "--out", bareOut + "/train"},
		}
		for _, args := range steps {
			if err := (command{dir: m, env: b.base, name: py, args: args}).run(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	const limit = 10 * time.Minute
	cases := []benchCase{
		{tool: "python", name: "bare python, 3 scripts (floor)", command: "python python/{setup_data,preprocess,train}.py ...", run: bare},
		{tool: "magelab", name: "compiled binary", command: "magelab train -exp=toy -set=data.n=N",
			run: func(ctx context.Context) error { return b.magelab(ctx, m, "train", "-exp=toy", "-set=data.n="+next()) }},
		{tool: "magelab", name: "go tool mage", command: "go tool mage train -exp=toy -set=data.n=N",
			run: func(ctx context.Context) error { return b.mage(ctx, m, "train", "-exp=toy", "-set=data.n="+next()) }},
		{tool: "dvc", name: "dvc exp run", command: "dvc exp run -S params.json:data.n=N",
			run: func(ctx context.Context) error {
				return b.tool(ctx, "dvc", d, "dvc", "exp", "run", "-q", "-S", "params.json:data.n="+next())
			}},
		{tool: "guild", name: "guild run -y", command: "guild run -y pipeline data.n=N",
			run: func(ctx context.Context) error {
				return b.tool(ctx, "guild", g, "guild", "run", "-y", "pipeline", "data.n="+next())
			}},
		{tool: "mlflow", name: "mlflow run (local env manager)", command: "mlflow run . --env-manager local -P n=N",
			run: func(ctx context.Context) error {
				return b.tool(ctx, "mlflow", ml, "mlflow", "run", ".", "--env-manager", "local", "-P", "n="+next())
			}},
	}
	for i := range cases {
		cases[i].timeout = limit
	}
	res := measure(ctx, b.log, "run", cases, b.o.Rounds, true)
	ratios(res, func(*Result) *Result { return res[1] })
	floor := res[0].MedMS
	for _, r := range res[1:] {
		r.Extra = map[string]float64{"overhead_ms": r.MedMS - floor}
	}
	return res, ctx.Err()
}

// figureUpToDate times the "nothing changed" re-run: magelab's up-to-date
// check against dvc repro and dvc exp run with every stage cached, and
// Guild's --needed. MLflow has no such check.
func (b *bench) figureUpToDate(ctx context.Context) ([]*Result, error) {
	m, d, g := b.proj["magelab"], b.proj["dvc"], b.proj["guild"]
	cases := []benchCase{
		{tool: "magelab", name: "compiled binary", command: "magelab train -exp=toy",
			run: func(ctx context.Context) error { return b.magelab(ctx, m, "train", "-exp=toy") }},
		{tool: "magelab", name: "go tool mage", command: "go tool mage train -exp=toy",
			run: func(ctx context.Context) error { return b.mage(ctx, m, "train", "-exp=toy") }},
		{tool: "dvc", name: "dvc repro", command: "dvc repro",
			run: func(ctx context.Context) error { return b.tool(ctx, "dvc", d, "dvc", "repro", "-q") }},
		{tool: "dvc", name: "dvc exp run (all stages cached)", command: "dvc exp run",
			run: func(ctx context.Context) error { return b.tool(ctx, "dvc", d, "dvc", "exp", "run", "-q") }},
		{tool: "guild", name: "guild run -y --needed", command: "guild run -y --needed pipeline",
			run: func(ctx context.Context) error {
				return b.tool(ctx, "guild", g, "guild", "run", "-y", "--needed", "pipeline")
			}},
	}
	for i := range cases {
		cases[i].timeout = 10 * time.Minute
	}
	res := measure(ctx, b.log, "uptodate", cases, b.o.Rounds, true)
	ratios(res, func(*Result) *Result { return res[0] })
	res[3].Note = "records a new experiment each time, all its stages skipped"
	res[4].Note = "matches a completed run of the same operation and flags; does not look at code or data"
	res = append(res, &Result{Figure: "uptodate", Tool: "mlflow", Case: "no equivalent",
		Note: "mlflow run always starts a new run; MLflow has no up-to-date check (its multistep example finds a matching run in user code)"})
	return res, ctx.Err()
}

func (b *bench) magelab(ctx context.Context, dir string, args ...string) error {
	return command{dir: dir, env: b.env("magelab"), name: b.bin, args: args}.run(ctx)
}

func (b *bench) mage(ctx context.Context, dir string, args ...string) error {
	return command{dir: dir, env: b.env("magelab"), name: "go", args: append([]string{"tool", "mage"}, args...)}.run(ctx)
}

func (b *bench) tool(ctx context.Context, tool, dir, name string, args ...string) error {
	return command{dir: dir, env: b.env(tool), name: name, args: args}.run(ctx)
}
