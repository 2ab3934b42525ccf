package kernels

import "math"

// PoolGeom is the geometry of 2-D pooling over one plane (one channel of one
// sample). PB and PR are the bottom and right pads.
type PoolGeom struct {
	H, W, OH, OW   int
	KH, KW         int
	SH, SW, DH, DW int
	PT, PL, PB, PR int
}

// MaxPoolForward pools planes [lo, hi) of x (planes×H×W) into y
// (planes×OH×OW) and records in arg the index within its plane of the input
// that won each window. Ties go to the first maximum in row-major order and a
// NaN always wins, as in PyTorch.
func MaxPoolForward[T Float](g PoolGeom, x, y []T, arg []int32, lo, hi int) {
	hw, ohw := g.H*g.W, g.OH*g.OW
	if g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 && g.PT == 0 && g.PL == 0 && 2*g.OH <= g.H && 2*g.OW <= g.W {
		for p := lo; p < hi; p++ {
			maxPool2x2(g, x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw], arg[p*ohw:(p+1)*ohw])
		}
		return
	}
	for p := lo; p < hi; p++ {
		xs, ys, as := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw], arg[p*ohw:(p+1)*ohw]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				best, at := maxWindow(g, xs, oh, ow)
				ys[oh*g.OW+ow], as[oh*g.OW+ow] = best, at
			}
		}
	}
}

// maxWindow returns the maximum of one window and its index (-1 if the window
// holds no input element).
func maxWindow[T Float](g PoolGeom, xs []T, oh, ow int) (T, int32) {
	best, at := T(math.Inf(-1)), int32(-1)
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PT + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		for kw := 0; kw < g.KW; kw++ {
			iw := ow*g.SW - g.PL + kw*g.DW
			if iw < 0 || iw >= g.W {
				continue
			}
			v := xs[ih*g.W+iw]
			if v != v {
				return v, int32(ih*g.W + iw)
			}
			if v > best || at < 0 {
				best, at = v, int32(ih*g.W+iw)
			}
		}
	}
	return best, at
}

// maxPool2x2 is the common 2×2, stride-2 case without padding.
func maxPool2x2[T Float](g PoolGeom, xs, ys []T, as []int32) {
	for oh := 0; oh < g.OH; oh++ {
		r0 := xs[2*oh*g.W : 2*oh*g.W+g.W]
		r1 := xs[(2*oh+1)*g.W : (2*oh+1)*g.W+g.W]
		yr, ar := ys[oh*g.OW:(oh+1)*g.OW], as[oh*g.OW:(oh+1)*g.OW]
		base := int32(2 * oh * g.W)
		for ow := range yr {
			a, b, c, d := r0[2*ow], r0[2*ow+1], r1[2*ow], r1[2*ow+1]
			best, at := a, int32(2*ow)
			if b > best {
				best, at = b, int32(2*ow+1)
			}
			if c > best {
				best, at = c, int32(g.W+2*ow)
			}
			if d > best {
				best, at = d, int32(g.W+2*ow+1)
			}
			if best != best || a != a || b != b || c != c || d != d {
				// Rare: defer to the general rule for NaN.
				best, at = maxWindow(g, xs, oh, ow)
				at -= base
			}
			yr[ow], ar[ow] = best, base+at
		}
	}
}

// MaxPoolBackward routes dy of planes [lo, hi) to the winning inputs in dx.
func MaxPoolBackward[T Float](g PoolGeom, dy []T, arg []int32, dx []T, lo, hi int) {
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := lo; p < hi; p++ {
		dxs := dx[p*hw : (p+1)*hw]
		clear(dxs)
		for i, a := range arg[p*ohw : (p+1)*ohw] {
			if a >= 0 {
				dxs[a] += dy[p*ohw+i]
			}
		}
	}
}

// AvgDivisors returns, for every output position, the reciprocal of the
// number of elements its window averages: with includePad the window clipped
// to the padded input, else clipped to the input (PyTorch's rule).
func AvgDivisors[T Float](g PoolGeom, includePad bool) []T {
	d := make([]T, g.OH*g.OW)
	for oh := 0; oh < g.OH; oh++ {
		r0 := oh*g.SH - g.PT
		r1 := min(r0+g.KH, g.H+g.PB)
		for ow := 0; ow < g.OW; ow++ {
			q0 := ow*g.SW - g.PL
			q1 := min(q0+g.KW, g.W+g.PR)
			n := (r1 - r0) * (q1 - q0)
			if !includePad {
				n = (min(r1, g.H) - max(r0, 0)) * (min(q1, g.W) - max(q0, 0))
			}
			d[oh*g.OW+ow] = 1 / T(n)
		}
	}
	return d
}

// AvgPoolForward averages planes [lo, hi). Average pooling has no dilation.
func AvgPoolForward[T Float](g PoolGeom, div, x, y []T, lo, hi int) {
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := lo; p < hi; p++ {
		xs, ys := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw]
		for oh := 0; oh < g.OH; oh++ {
			r0 := max(oh*g.SH-g.PT, 0)
			r1 := min(oh*g.SH-g.PT+g.KH, g.H)
			for ow := 0; ow < g.OW; ow++ {
				q0 := max(ow*g.SW-g.PL, 0)
				q1 := min(ow*g.SW-g.PL+g.KW, g.W)
				var s T
				for r := r0; r < r1; r++ {
					for _, v := range xs[r*g.W+q0 : r*g.W+q1] {
						s += v
					}
				}
				ys[oh*g.OW+ow] = s * div[oh*g.OW+ow]
			}
		}
	}
}

// AvgPoolBackward spreads dy of planes [lo, hi) over the windows in dx.
func AvgPoolBackward[T Float](g PoolGeom, div, dy, dx []T, lo, hi int) {
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := lo; p < hi; p++ {
		dxs, dys := dx[p*hw:(p+1)*hw], dy[p*ohw:(p+1)*ohw]
		clear(dxs)
		for oh := 0; oh < g.OH; oh++ {
			r0 := max(oh*g.SH-g.PT, 0)
			r1 := min(oh*g.SH-g.PT+g.KH, g.H)
			for ow := 0; ow < g.OW; ow++ {
				q0 := max(ow*g.SW-g.PL, 0)
				q1 := min(ow*g.SW-g.PL+g.KW, g.W)
				v := dys[oh*g.OW+ow] * div[oh*g.OW+ow]
				for r := r0; r < r1; r++ {
					row := dxs[r*g.W+q0 : r*g.W+q1]
					for i := range row {
						row[i] += v
					}
				}
			}
		}
	}
}
