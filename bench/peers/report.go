package peers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// save writes bench/results/peers.json and peers.md.
func (b *bench) save() error {
	dir := filepath.Join(b.repo, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(b.report, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "peers.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "peers.md"), []byte(Markdown(b.report)), 0o644)
}

// Markdown is the report as tables, the goals first.
func Markdown(rep *Report) string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s, %s, %s, %s; `%s`.\n", rep.Date, rep.Machine, rep.Go, rep.Python, rep.Command)
	fmt.Fprintf(&s, "Peers: DVC %s, Guild AI %s, MLflow %s, each in its own venv. ", rep.Versions["dvc"], rep.Versions["guildai"], rep.Versions["mlflow"])
	fmt.Fprintf(&s, "Milliseconds (seconds for the sweep), min / median / max over the rounds after a warm-up round, cases round-robin; ratio = median / magelab's median in the same run.\n\n")
	s.WriteString(goals(rep))
	by := func(fig string) []*Result {
		var out []*Result
		for _, r := range rep.Results {
			if r.Figure == fig {
				out = append(out, r)
			}
		}
		return out
	}
	if rs := by("run"); len(rs) > 0 {
		fmt.Fprintf(&s, "\n### 1. One tracked run of the trivial pipeline (%d rounds)\n\n", rep.Options.Rounds)
		s.WriteString("| tool | case | min | median | max | over bare python | ratio | overhead ratio |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
		floor := rs[0].MedMS
		var ours float64
		for _, r := range rs {
			if r.Tool == "magelab" && ours == 0 {
				ours = r.MedMS - floor
			}
		}
		for _, r := range rs {
			over, oratio := "", ""
			if r.Tool != "python" {
				over = fmt.Sprintf("%+.0f", r.MedMS-floor)
				if ours > 0 {
					oratio = fmt.Sprintf("%.1f×", (r.MedMS-floor)/ours)
				}
			}
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.Tool, cell(r), triple(r, 1), over+" | "+ratio(r), oratio)
		}
		s.WriteString("\n\"over bare python\": the median minus the bare scripts' median, the wrapper's overhead; \"overhead ratio\": that overhead over magelab's (compiled).\n")
	}
	if rs := by("uptodate"); len(rs) > 0 {
		fmt.Fprintf(&s, "\n### 2. \"Nothing changed\" re-run (%d rounds)\n\n", rep.Options.Rounds)
		s.WriteString("| tool | case | min | median | max | ratio | note |\n|---|---|---:|---:|---:|---:|---|\n")
		for _, r := range rs {
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.Tool, cell(r), triple(r, 1), ratio(r), r.Note)
		}
	}
	if rs := by("query"); len(rs) > 0 {
		fmt.Fprintf(&s, "\n### 3. Listing and querying N runs in each tool's own store (%d rounds, each a fresh process)\n\n", rep.Options.QueryRounds)
		s.WriteString("| runs | what | tool | case | min | median | max | ratio | note |\n|---:|---|---|---|---:|---:|---:|---:|---|\n")
		for _, r := range rs {
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %s | %s |\n", human(r.Size), r.Op, r.Tool, cell(r), triple(r, 1), ratio(r), queryNote(r))
		}
		for _, n := range rep.Options.Sizes {
			if c, ok := rep.Setup[fmt.Sprintf("same_top20_%d", n)].(map[string]any); ok {
				fmt.Fprintf(&s, "\nQuery at %s: the same %v runs as magelab, in the same order: MLflow %s, Guild %s (DVC cannot filter).", human(n), c["magelab_runs"], yesNo(c["mlflow"]), yesNo(c["guild"]))
			}
		}
		s.WriteString("\n")
	}
	if rs := by("sweep"); len(rs) > 0 {
		fmt.Fprintf(&s, "\n### 4. 16-trial grid, 1-second trials, 2 slots (%d rounds; ideal %.0f s)\n\n", rep.Options.SweepRounds, float64(trials)/slots)
		s.WriteString("| tool | case | min s | median s | max s | ratio | failed trials per round |\n|---|---|---:|---:|---:|---:|---|\n")
		for _, r := range rs {
			fmt.Fprintf(&s, "| %s | %s | %s | %s | %v |\n", r.Tool, cell(r), triple(r, 1000), ratio(r), r.Failures)
		}
	}
	s.WriteString(storesLine(rep))
	s.WriteString("\nCommands:\n\n")
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if r.Command != "" && !seen[r.Figure+r.Command] {
			seen[r.Figure+r.Command] = true
			fmt.Fprintf(&s, "- %s, %s: `%s`\n", r.Figure, r.Tool, r.Command)
		}
	}
	return s.String()
}

// storesLine says how long the stores of figure 3 took to write.
func storesLine(rep *Report) string {
	var parts []string
	for _, n := range rep.Options.Sizes {
		st, ok := rep.Setup[fmt.Sprintf("stores_%d", n)].(storeTimes)
		if !ok {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s runs: magelab %.1f s, MLflow %.0f s, Guild %.0f s, DVC %.0f s",
			human(n), st["magelab_s"], st["mlflow_s"], st["guild_s"], st["dvc_s"]))
	}
	if len(parts) == 0 {
		return ""
	}
	return "\nStores written (figure 3) in " + strings.Join(parts, "; ") + ".\n"
}

func cell(r *Result) string {
	if r.Error != "" {
		return r.Case + " (FAILED: " + firstLine(r.Error) + ")"
	}
	return r.Case
}

// triple is "min | median | max" in ms (div 1) or s (div 1000).
func triple(r *Result, div float64) string {
	if len(r.Samples) == 0 {
		if r.TimedOut {
			return "— | timed out | —"
		}
		return "— | — | —"
	}
	f := "%.1f"
	if div > 1 || r.MedMS >= 1000 {
		f = "%.0f"
	}
	if div > 1 {
		f = "%.1f"
	}
	return fmt.Sprintf(f+" | "+f+" | "+f, r.MinMS/div, r.MedMS/div, r.MaxMS/div)
}

func ratio(r *Result) string {
	if r.Ratio == 0 {
		if x, ok := r.Extra.(map[string]any); ok {
			if _, ok := x["extrapolated_ms"].(float64); ok {
				return "see note"
			}
		}
		return ""
	}
	return fmt.Sprintf("%.1f×", r.Ratio)
}

func queryNote(r *Result) string {
	var notes []string
	if r.Note != "" {
		notes = append(notes, r.Note)
	}
	if r.FirstMS > 0 && r.MedMS > 0 && r.FirstMS > 2*r.MedMS {
		notes = append(notes, fmt.Sprintf("first call, cold cache: %.0f ms", r.FirstMS))
	}
	if x, ok := r.Extra.(map[string]any); ok {
		if w, ok := x["warm_search_ms"].([]float64); ok && len(w) > 0 {
			w = slices.Clone(w)
			slices.Sort(w)
			notes = append(notes, fmt.Sprintf("search_runs alone, warm, in-process: %.0f ms", w[len(w)/2]))
		}
	}
	return strings.Join(notes, "; ")
}

// goals checks the three goals against the figures.
func goals(rep *Report) string {
	var s strings.Builder
	find := func(fig, tool, op string, size int) []*Result {
		var out []*Result
		for _, r := range rep.Results {
			if r.Figure == fig && (tool == "" || r.Tool == tool) && r.Op == op && r.Size == size && r.MedMS > 0 {
				out = append(out, r)
			}
		}
		return out
	}
	s.WriteString("| goal | magelab | fastest peer | factor | met |\n|---|---:|---|---:|---|\n")
	if rs := find("run", "", "", 0); len(rs) > 2 {
		floor := rs[0].MedMS
		ours := rs[1].MedMS - floor
		if best := fastest(rs, "magelab", "python"); best != nil {
			theirs := best.MedMS - floor
			f := theirs / ours
			fmt.Fprintf(&s, "| wrapper overhead ≥ 10× lower than the fastest peer | %+.0f ms | %s: %+.0f ms | %.1f× | %s |\n", ours, best.Case, theirs, f, yes(f >= 10))
		}
	}
	if rs := find("uptodate", "magelab", "", 0); len(rs) > 0 {
		fmt.Fprintf(&s, "| \"nothing changed\" ≤ 50 ms compiled | %.1f ms | | | %s |\n", rs[0].MedMS, yes(rs[0].MedMS <= 50))
	}
	sizes := rep.Options.Sizes
	if len(sizes) > 0 {
		n := sizes[len(sizes)-1]
		for _, op := range []string{"query", "list"} {
			rs := find("query", "", op, n)
			var ours *Result
			for _, r := range rs {
				if r.Tool == "magelab" {
					ours = r
				}
			}
			best := fastest(rs, "magelab")
			if ours != nil && best != nil {
				f := best.MedMS / ours.MedMS
				fmt.Fprintf(&s, "| %s %s runs ≥ 20× faster than the fastest peer | %.1f ms | %s %s: %.0f ms | %.0f× | %s |\n",
					op, human(n), ours.MedMS, best.Tool, best.Case, best.MedMS, f, yes(f >= 20))
			}
		}
	}
	return s.String()
}

// fastest is the result with the lowest median among the tools not named.
func fastest(rs []*Result, not ...string) *Result {
	var best *Result
	for _, r := range rs {
		if slices.Contains(not, r.Tool) || r.MedMS == 0 {
			continue
		}
		if best == nil || r.MedMS < best.MedMS {
			best = r
		}
	}
	return best
}

func yesNo(v any) string {
	switch v {
	case true:
		return "yes"
	case false:
		return "NO"
	}
	return "not checked"
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func human(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
