package peers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	where       = "val_accuracy>0.9 train.lr=0.01 status=finished"
	guildFilter = "val_accuracy > 0.9 and train.lr = 0.01 and status = completed"
)

// figureQuery makes stores of each size for every tool, holding the same
// synthetic runs, and times listing them and querying them (filter, sort,
// best 20) in each tool's own way, each a fresh process.
func (b *bench) figureQuery(ctx context.Context) ([]*Result, error) {
	// MLflow's store is loaded as bench/ledger loads it (see its README).
	mlflowLoad := filepath.Join(b.repo, "bench", "ledger", "mlflow_bench.py")
	query, err := b.writeScript("mlflow_query.py")
	if err != nil {
		return nil, err
	}
	guildGen, err := b.writeScript("guild_gen.py")
	if err != nil {
		return nil, err
	}
	template, err := b.guildTemplate(ctx)
	if err != nil {
		return nil, err
	}
	var all []*Result
	for _, n := range b.o.Sizes {
		dir := filepath.Join(b.work, "query-"+strconv.Itoa(n))
		st, err := b.stores(ctx, dir, n, mlflowLoad, guildGen, template)
		if err != nil {
			return all, err
		}
		b.report.Setup[fmt.Sprintf("stores_%d", n)] = st
		res := b.queryCases(ctx, dir, n, query)
		all = append(all, res...)
		b.extrapolate(all, n)
		if !b.o.Keep {
			os.RemoveAll(dir)
		}
	}
	return all, ctx.Err()
}

// storeTimes says how long each store took to make, in seconds.
type storeTimes map[string]any

// stores writes the n runs into a magelab ledger, an MLflow SQLite store, a
// Guild home and a DVC project's experiments, all under dir.
func (b *bench) stores(ctx context.Context, dir string, n int, mlflowLoad, guildGen, template string) (storeTimes, error) {
	st := storeTimes{}
	runs := synthRuns(n, 9)
	jsonl := filepath.Join(dir, "runs.jsonl")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	if err := writeRunsJSONL(jsonl, runs); err != nil {
		return st, err
	}
	timed := func(name string, f func() error) error {
		t := time.Now()
		err := f()
		st[name+"_s"] = time.Since(t).Seconds()
		fmt.Fprintf(b.log, "  %d runs into %s: %.1fs\n", n, name, time.Since(t).Seconds())
		return err
	}
	if err := timed("magelab", func() error { return writeLedger(filepath.Join(dir, "magelab", "runs"), runs) }); err != nil {
		return st, err
	}
	if err := timed("mlflow", func() error {
		out, err := command{dir: dir, env: b.env("mlflow"), name: "python", args: []string{mlflowLoad, "load",
			"--db", filepath.Join(dir, "mlflow.db"), "--runs", jsonl, "--client", strconv.Itoa(min(n, 100))}}.output(ctx)
		st["mlflow_load"] = json.RawMessage(lastLine(out))
		return err
	}); err != nil {
		return st, err
	}
	home := filepath.Join(dir, "guild-home")
	if err := timed("guild", func() error {
		env := append(b.env("guild"), "GUILD_HOME="+home)
		return command{dir: dir, env: env, name: filepath.Join(b.venv["guildai"], "bin", "python"),
			args: []string{guildGen, "--template", template, "--runs", jsonl, "--home", home}}.run(ctx)
	}); err != nil {
		return st, err
	}
	if err := timed("dvc", func() error {
		p := filepath.Join(dir, "dvc")
		if err := b.dvcProject(ctx, p, true); err != nil {
			return err
		}
		return writeDVCExps(ctx, p, b.base, runs)
	}); err != nil {
		return st, err
	}
	return st, nil
}

// guildTemplate is a run dir of the toy pipeline made by `guild run`, the
// model of the generated runs.
func (b *bench) guildTemplate(ctx context.Context) (string, error) {
	home := filepath.Join(b.work, "guild-template")
	env := append(b.env("guild"), "GUILD_HOME="+home)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", err
	}
	if err := (command{dir: b.proj["guild"], env: env, name: "guild", args: []string{"run", "-y", "pipeline"}}).run(ctx); err != nil {
		return "", err
	}
	dirs, err := filepath.Glob(filepath.Join(home, "runs", "*"))
	if err != nil || len(dirs) != 1 {
		return "", fmt.Errorf("guild template run: found %v (%v)", dirs, err)
	}
	return dirs[0], nil
}

// queryCases times listing and querying the stores in dir.
func (b *bench) queryCases(ctx context.Context, dir string, n int, mlflowQuery string) []*Result {
	mdir, ddir := filepath.Join(dir, "magelab"), filepath.Join(dir, "dvc")
	genv := append(b.env("guild"), "GUILD_HOME="+filepath.Join(dir, "guild-home"))
	gdir := b.proj["guild"]
	db := filepath.Join(dir, "mlflow.db")
	ml := func(mode string) func(ctx context.Context, r *Result) error {
		return func(ctx context.Context, r *Result) error {
			out, err := command{dir: dir, env: b.env("mlflow"), name: "python", args: []string{mlflowQuery, "--db", db, "--mode", mode}}.output(ctx)
			if err == nil {
				var q struct {
					WarmS float64  `json:"warm_s"`
					IDs   []string `json:"ids"`
				}
				if err = json.Unmarshal(lastLine(out), &q); err == nil {
					addWarm(r, q.WarmS*1000)
					extra(r)["ids"] = q.IDs
				}
			}
			return err
		}
	}
	type qc struct {
		tool, op, name, cmd string
		run                 func(ctx context.Context, r *Result) error
		slow                bool
	}
	run := func(dir string, env []string, name string, args ...string) func(context.Context, *Result) error {
		return func(ctx context.Context, r *Result) error {
			out, err := command{dir: dir, env: env, name: name, args: args}.output(ctx)
			setRows(r, out)
			return err
		}
	}
	menv := b.env("magelab")
	denv := b.env("dvc")
	qcs := []qc{
		{"magelab", "list", "runs (newest 20)", "magelab runs", run(mdir, menv, b.bin, "runs"), false},
		{"magelab", "query", "runs -where -sort -limit 20", fmt.Sprintf("magelab runs -where=%q -sort=-val_accuracy -limit=20", where),
			run(mdir, menv, b.bin, "runs", "-where="+where, "-sort=-val_accuracy", "-limit=20"), false},
		{"dvc", "list", "dvc exp list", "dvc exp list", run(ddir, denv, "dvc", "exp", "list"), false},
		{"dvc", "query", "dvc exp show --csv --sort-by", "dvc exp show --csv --sort-by val_accuracy --sort-order desc",
			run(ddir, denv, "dvc", "exp", "show", "--csv", "--sort-by", "val_accuracy", "--sort-order", "desc"), true},
		{"guild", "list", "guild runs", "guild runs", run(gdir, genv, "guild", "runs"), false},
		{"guild", "query", "guild compare --filter --max --top 20", fmt.Sprintf("guild compare --csv - --filter %q --max val_accuracy --top 20", guildFilter),
			run(gdir, genv, "guild", "compare", "--csv", "-", "--filter", guildFilter, "--max", "val_accuracy", "--top", "20"), true},
		{"mlflow", "list", "search_runs (newest 20), one process", "python -c 'MlflowClient().search_runs(..., order_by=[start_time DESC], max_results=20)'", ml("list"), false},
		{"mlflow", "query", "search_runs filter+order, one process", "python -c 'MlflowClient().search_runs(..., filter_string=..., order_by=[val_accuracy DESC], max_results=20)'", ml("query"), false},
	}
	cases := make([]benchCase, len(qcs))
	for i, q := range qcs {
		cases[i] = benchCase{tool: q.tool, name: fmt.Sprintf("%s %d: %s", q.op, n, q.name), command: q.cmd, timeout: 10 * time.Minute}
		if q.slow {
			cases[i].timeout = b.o.SlowQuery
		}
	}
	res := newResults("query", cases)
	for i, q := range qcs {
		r := res[i]
		cases[i].run = func(ctx context.Context) error { return q.run(ctx, r) }
	}
	measureInto(ctx, b.log, cases, res, b.o.QueryRounds, true)
	for i, r := range res {
		r.Size, r.Op, r.Case = n, qcs[i].op, qcs[i].name
	}
	b.report.Setup[fmt.Sprintf("same_top20_%d", n)] = b.sameTop20(ctx, mdir, res)
	ratios(res, func(r *Result) *Result {
		if r.Op == "list" {
			return res[0]
		}
		return res[1]
	})
	res[3].Note = "DVC has no filter or limit: it reads and prints every experiment, sorted"
	return res
}

// setRows records how many lines a listing printed and, for CSV, its rows
// and the first column (Guild's run ids): a check that the tool saw the
// store.
func setRows(r *Result, out []byte) {
	x := extra(r)
	x["lines"] = bytes.Count(out, []byte("\n"))
	if rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll(); err == nil && len(rows) > 1 && len(rows[0]) > 1 {
		x["csv_rows"] = len(rows) - 1
		if rows[0][0] == "run" {
			ids := make([]string, len(rows)-1)
			for i, row := range rows[1:] {
				ids[i] = row[0]
			}
			x["ids"] = ids
		}
	}
}

// addWarm records MLflow's second search_runs in the same process.
func addWarm(r *Result, ms float64) {
	x := extra(r)
	w, _ := x["warm_search_ms"].([]float64)
	x["warm_search_ms"] = append(w, ms)
}

func extra(r *Result) map[string]any {
	x, _ := r.Extra.(map[string]any)
	if x == nil {
		x = map[string]any{}
		r.Extra = x
	}
	return x
}

// sameTop20 checks that MLflow and Guild found the runs magelab found for
// the query, in the same order (Guild prints 8-digit short ids). DVC cannot
// filter, so it is not compared.
func (b *bench) sameTop20(ctx context.Context, dir string, res []*Result) map[string]any {
	out, err := command{dir: dir, env: b.env("magelab"), name: b.bin,
		args: []string{"runs", "-where=" + where, "-sort=-val_accuracy", "-limit=20", "-format=json"}}.output(ctx)
	var runs []struct {
		ID string `json:"id"`
	}
	if err == nil {
		err = json.Unmarshal(out, &runs)
	}
	if err != nil {
		return map[string]any{"error": err.Error()}
	}
	var ours, short []string
	for _, r := range runs {
		ours = append(ours, r.ID)
		short = append(short, strings.ReplaceAll(r.ID, "-", "")[:8])
	}
	check := map[string]any{"magelab_runs": len(ours)}
	for _, r := range res {
		ids, ok := extra(r)["ids"].([]string)
		if r.Op != "query" || !ok {
			continue
		}
		switch r.Tool {
		case "mlflow":
			check["mlflow"] = slices.Equal(ids, ours)
		case "guild":
			check["guild"] = slices.Equal(ids, short)
		}
	}
	return check
}

// extrapolate fills in, for a case that timed out at size n, a linear
// estimate from the same case at the largest smaller size, labelled so.
func (b *bench) extrapolate(all []*Result, n int) {
	for _, r := range all {
		if r.Size != n || !r.TimedOut {
			continue
		}
		for _, s := range all {
			if s.Tool == r.Tool && s.Op == r.Op && s.Size < n && s.MedMS > 0 {
				est := s.MedMS * float64(n) / float64(s.Size)
				r.Note = fmt.Sprintf("not finished within %s; EXTRAPOLATED linearly from %d runs (%.0f ms): ~%.0f s", b.o.SlowQuery, s.Size, s.MedMS, est/1000)
				x, _ := r.Extra.(map[string]any)
				if x == nil {
					x = map[string]any{}
				}
				x["extrapolated_ms"] = est
				r.Extra = x
			}
		}
	}
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}
