package config

import (
	"sort"
	"strings"
)

// nearest returns the candidate closest to name by edit distance, when it is
// close enough to be a plausible typo: one edit for names under six
// characters, two for longer ones (dotted keys share long prefixes, so a
// proportional limit would pair unrelated keys).
func nearest(name string, candidates []string) (string, bool) {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := 1
	if len([]rune(name)) >= 6 {
		limit = 2
	}
	if bestD < 0 || bestD > limit {
		return "", false
	}
	return best, true
}

// nearestN returns up to n candidates ordered by edit distance to name, ties
// by name.
func nearestN(name string, candidates []string, n int) []string {
	type scored struct {
		s string
		d int
	}
	all := make([]scored, 0, len(candidates))
	for _, c := range candidates {
		all = append(all, scored{c, editDistance(strings.ToLower(name), strings.ToLower(c))})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].s < all[j].s
	})
	out := []string{}
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].s)
	}
	return out
}

// didYouMean formats a suggestion suffix like ` (did you mean "train"?)`, or
// "" when nothing is close.
func didYouMean(name string, candidates []string) string {
	if s, ok := nearest(name, candidates); ok {
		return ` (did you mean "` + s + `"?)`
	}
	return ""
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of neighbours each
// cost one, so "trian" is one edit from "train".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Long strings are never typos of short keys; keep this cheap.
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// DidYouMean is didYouMean for other packages' messages (the sweep block's
// keys): ` (did you mean "metric"?)`, or "".
func DidYouMean(name string, candidates []string) string { return didYouMean(name, candidates) }
