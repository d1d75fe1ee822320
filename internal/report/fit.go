package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/magelab/magelab/internal/record"
)

// Columns a fitted table never drops: without them a row names no run,
// or hides that it is a reproduction and how it went.
var keptColumns = []string{"id", "status", "reproduces"}

// firstDropped are the columns a fitted table drops before any other:
// what the run page and runs:show tell better than a narrow table.
var firstDropped = []string{"started", "gpu", "duration", "sha"}

// writeFitted writes the table for a terminal opt.Width columns wide. Runs
// are grouped by experiment when several are listed (in the order each
// first appears; within a group, the listing's order), each group with its
// own table of the params that differ within it. Columns are dropped,
// widest first, until a table fits, and one line after the tables says
// what was left out and how to see it.
func writeFitted(w io.Writer, runs []record.Summary, opt FormatOptions) error {
	groups := byExperiment(runs)
	var dropped []string
	for i, grp := range groups {
		g := listing(grp, opt, 4)
		if len(groups) > 1 {
			g = g.without("experiment")
			if i > 0 {
				fmt.Fprintln(w)
			}
			fmt.Fprintf(w, "%s (%d %s)\n", grp[0].Experiment, len(grp), plural(len(grp), "run", "runs"))
		}
		g, gone := g.fit(opt.Width)
		for _, c := range gone {
			if !slices.Contains(dropped, c) {
				dropped = append(dropped, c)
			}
		}
		if err := writeTable(w, g); err != nil {
			return err
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintln(w, droppedNote(dropped, opt.Width))
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// byExperiment splits runs by experiment, in the order each first appears.
func byExperiment(runs []record.Summary) [][]record.Summary {
	var order []string
	by := map[string][]record.Summary{}
	for _, r := range runs {
		if _, ok := by[r.Experiment]; !ok {
			order = append(order, r.Experiment)
		}
		by[r.Experiment] = append(by[r.Experiment], r)
	}
	out := make([][]record.Summary, len(order))
	for i, e := range order {
		out[i] = by[e]
	}
	return out
}

// droppedNote is the line that says which columns a fitted table left out
// and how to see them, as many names as fit in width.
func droppedNote(dropped []string, width int) string {
	tail := " (see them: -cols=..., or -format=csv|json)"
	line := fmt.Sprintf("not shown: %d columns", len(dropped)) + tail
	for n := 1; n <= len(dropped); n++ {
		names := strings.Join(dropped[:n], ", ")
		if n < len(dropped) {
			names += fmt.Sprintf(" and %d more", len(dropped)-n)
		}
		if l := "not shown: " + names + tail; utf8.RuneCountInString(l) <= width {
			line = l
		}
	}
	if r := []rune(line); len(r) > width {
		line = string(r[:max(0, width-1)]) + "…"
	}
	return line
}

// fit drops columns until the table is at most width wide, and returns
// the names it dropped in the order of the table. It drops firstDropped
// first, then metrics whose value is the same in every row, then the
// widest column (the leftmost of equals, so a param goes before a metric).
func (g grid) fit(width int) (grid, []string) {
	var gone []string
	orig := g.head
	for g.width() > width {
		i := g.widest()
		if i < 0 {
			break
		}
		gone = append(gone, g.head[i])
		g = g.drop(i)
	}
	slices.SortFunc(gone, func(a, b string) int { return slices.Index(orig, a) - slices.Index(orig, b) })
	return g, gone
}

// width is the table's width as writeTable lays it out: every column as
// wide as its widest cell, two spaces between columns.
func (g grid) width() int {
	total := 0
	for i := range g.head {
		total += g.colWidth(i)
	}
	return total + 2*max(0, len(g.head)-1)
}

func (g grid) colWidth(i int) int {
	n := utf8.RuneCountInString(g.head[i])
	for _, r := range g.rows {
		n = max(n, utf8.RuneCountInString(cellText(r[i])))
	}
	return n
}

// cellText is a cell as writeTable writes it.
func cellText(c string) string {
	if c == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ").Replace(c)
}

// widest is the index of the next column to drop (see fit), -1 when none
// may be.
func (g grid) widest() int {
	for _, name := range firstDropped {
		if i := slices.Index(g.head, name); i >= 0 {
			return i
		}
	}
	for i := range g.head {
		if g.keepCase[i] && g.numeric[i] && g.same(i) && !slices.Contains(keptColumns, g.head[i]) {
			return i
		}
	}
	best, bw := -1, -1
	for i, h := range g.head {
		if slices.Contains(keptColumns, h) {
			continue
		}
		if w := g.colWidth(i); w > bw {
			best, bw = i, w
		}
	}
	return best
}

// same reports whether column i holds one value in every row.
func (g grid) same(i int) bool {
	for _, r := range g.rows {
		if r[i] != g.rows[0][i] {
			return false
		}
	}
	return true
}

// drop removes column i.
func (g grid) drop(i int) grid {
	out := grid{head: slices.Delete(slices.Clone(g.head), i, i+1), numeric: slices.Delete(slices.Clone(g.numeric), i, i+1),
		keepCase: slices.Delete(slices.Clone(g.keepCase), i, i+1)}
	for _, r := range g.rows {
		out.rows = append(out.rows, slices.Delete(slices.Clone(r), i, i+1))
	}
	return out
}

// without drops the column named name, if the table has it.
func (g grid) without(name string) grid {
	if i := slices.Index(g.head, name); i >= 0 {
		return g.drop(i)
	}
	return g
}

// choose keeps the columns named in cols, in that order; none named keeps
// them all. A name the table lacks is an error that lists those it has.
func (g grid) choose(cols []string) (grid, error) {
	if len(cols) == 0 {
		return g, nil
	}
	out := grid{}
	idx := make([]int, 0, len(cols))
	for _, c := range cols {
		i := slices.Index(g.head, c)
		if i < 0 {
			return g, fmt.Errorf("-cols: no column %q in this listing (it has %s)", c, strings.Join(g.head, ", "))
		}
		idx = append(idx, i)
		out.head, out.numeric, out.keepCase = append(out.head, g.head[i]), append(out.numeric, g.numeric[i]), append(out.keepCase, g.keepCase[i])
	}
	for _, r := range g.rows {
		row := make([]string, len(idx))
		for k, i := range idx {
			row[k] = r[i]
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}
