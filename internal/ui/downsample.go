package ui

import "math"

// Downsample reduces the points (x[i], y[i]) to at most about 2*width
// points for a chart width pixels wide: the x range is cut into width
// buckets of equal index span and each keeps its lowest and its highest
// point, in their order, so a spike a single step wide stays visible (the
// min/max, or M4 without first and last, of Jugel et al. 2014). The first
// and the last point are always kept. Points with a NaN y are gaps: a
// bucket that holds one keeps one NaN, so the line breaks there too.
// Series of 2*width points or fewer come back unchanged.
func Downsample(x, y []float64, width int) ([]float64, []float64) {
	n := len(x)
	if width < 1 || n <= 2*width {
		return x, y
	}
	ox := make([]float64, 0, 2*width+2)
	oy := make([]float64, 0, 2*width+2)
	add := func(i int) {
		if k := len(ox); k > 0 && ox[k-1] == x[i] && sameY(oy[k-1], y[i]) {
			return
		}
		ox, oy = append(ox, x[i]), append(oy, y[i])
	}
	add(0)
	for b := range width {
		lo, hi := b*n/width, (b+1)*n/width
		imin, imax, inan := -1, -1, -1
		for i := lo; i < hi; i++ {
			v := y[i]
			switch {
			case math.IsNaN(v):
				if inan < 0 {
					inan = i
				}
			case imin < 0:
				imin, imax = i, i
			case v < y[imin]:
				imin = i
			case v > y[imax]:
				imax = i
			}
		}
		for _, i := range ordered(imin, imax, inan) {
			add(i)
		}
	}
	add(n - 1)
	return ox, oy
}

func sameY(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// ordered returns the indexes that are set (≥ 0), ascending, without
// repeats.
func ordered(idx ...int) []int {
	out := make([]int, 0, len(idx))
	for _, i := range idx {
		if i >= 0 {
			out = append(out, i)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	k := 0
	for i, v := range out {
		if i == 0 || v != out[k-1] {
			out[k] = v
			k++
		}
	}
	return out[:k]
}
