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
// that won each window.
func MaxPoolForward[T Float](g PoolGeom, x, y []T, arg []int32, lo, hi int) {
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p := lo; p < hi; p++ {
		xs, ys, as := x[p*hw:(p+1)*hw], y[p*ohw:(p+1)*ohw], arg[p*ohw:(p+1)*ohw]
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
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
						// NaN wins, as in PyTorch, so it is never hidden.
						if v := xs[ih*g.W+iw]; v > best || at < 0 || v != v {
							best, at = v, int32(ih*g.W+iw)
							if v != v {
								goto done
							}
						}
					}
				}
			done:
				ys[oh*g.OW+ow], as[oh*g.OW+ow] = best, at
			}
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
