// Package kernels holds the numeric kernels of the engine: convolution by
// im2col and GEMM, pooling, dense layers, broadcasting arithmetic and the
// rest, forward and input-gradient, generic over float32 and float64. Kernels
// work on contiguous sample ranges [lo, hi) of a batch so that callers can
// split a batch across workers; they never allocate on their hot paths.
package kernels

import "github.com/advcheck/advcheck/models/internal/blas"

// Float is the element type of the engine.
type Float interface{ float32 | float64 }

// ConvGeom is the geometry of a 2-D grouped convolution on one sample.
type ConvGeom struct {
	C, H, W        int // input channels, height, width
	M, OH, OW      int // output channels, height, width
	KH, KW         int
	SH, SW, DH, DW int // strides, dilations
	PT, PL         int // top and left padding (bottom/right follow from OH, OW)
	Group          int
}

// ColRows is the number of rows of one group's im2col matrix.
func (g ConvGeom) ColRows() int { return g.C / g.Group * g.KH * g.KW }

// ColCols is the number of columns of the im2col matrix.
func (g ConvGeom) ColCols() int { return g.OH * g.OW }

// Direct reports whether the convolution is a plain 1×1 matrix product
// (no im2col needed).
func (g ConvGeom) Direct() bool {
	return g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.OH == g.H && g.OW == g.W
}

// Tiling: a sample's im2col matrix has ColRows × OH·OW elements, 115 MB
// for a 3×3 convolution of 64 channels at 224 px. Larger than colWhole
// elements, it is built and multiplied in tiles of whole output rows of at
// most colTile elements (at least one row), which stay in cache between
// im2col and the GEMM and bound the scratch. The tiling depends on the
// geometry alone, so a sample's result does not depend on its batch.
// (Variables only so that tests can tile small convolutions.)
var (
	colWhole = 1 << 20
	colTile  = 1 << 18
)

// TileRows is the number of output rows of one im2col tile.
func (g ConvGeom) TileRows() int {
	k := g.ColRows()
	if k*g.OH*g.OW <= colWhole {
		return g.OH
	}
	return min(g.OH, max(1, colTile/(k*g.OW)))
}

// im2col writes the patches of output rows [r0, r1) of channels
// [c0, c0+C/Group) of one sample x (C×H×W) into col (ColRows × (r1−r0)·OW).
func im2col[T Float](g ConvGeom, x []T, c0 int, col []T, r0, r1 int) {
	cg := g.C / g.Group
	ohw := (r1 - r0) * g.OW
	row := 0
	for c := c0; c < c0+cg; c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				dst := col[row*ohw : (row+1)*ohw]
				row++
				for oh := r0; oh < r1; oh++ {
					ih := oh*g.SH - g.PT + kh*g.DH
					out := dst[(oh-r0)*g.OW : (oh-r0+1)*g.OW]
					if ih < 0 || ih >= g.H {
						clear(out)
						continue
					}
					src := plane[ih*g.W : (ih+1)*g.W]
					iw := kw*g.DW - g.PL
					if g.SW == 1 {
						// Contiguous run with zero margins.
						lo := max(0, -iw)
						hi := min(g.OW, g.W-iw)
						if hi <= lo {
							clear(out)
							continue
						}
						clear(out[:lo])
						copy(out[lo:hi], src[iw+lo:iw+hi])
						clear(out[hi:])
						continue
					}
					for ow := 0; ow < g.OW; ow++ {
						if iw >= 0 && iw < g.W {
							out[ow] = src[iw]
						} else {
							out[ow] = 0
						}
						iw += g.SW
					}
				}
			}
		}
	}
}

// col2imAdd adds col (ColRows × (r1−r0)·OW, output rows [r0, r1)) back into
// channels [c0, c0+C/Group) of dx.
func col2imAdd[T Float](g ConvGeom, col []T, c0 int, dx []T, r0, r1 int) {
	cg := g.C / g.Group
	ohw := (r1 - r0) * g.OW
	row := 0
	for c := c0; c < c0+cg; c++ {
		plane := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				src := col[row*ohw : (row+1)*ohw]
				row++
				for oh := r0; oh < r1; oh++ {
					ih := oh*g.SH - g.PT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					dst := plane[ih*g.W : (ih+1)*g.W]
					in := src[(oh-r0)*g.OW : (oh-r0+1)*g.OW]
					iw := kw*g.DW - g.PL
					if g.SW == 1 {
						lo := max(0, -iw)
						hi := min(g.OW, g.W-iw)
						if hi > lo {
							d := dst[iw+lo : iw+hi]
							for i, v := range in[lo:hi] {
								d[i] += v
							}
						}
						continue
					}
					for ow := 0; ow < g.OW; ow++ {
						if iw >= 0 && iw < g.W {
							dst[iw] += in[ow]
						}
						iw += g.SW
					}
				}
			}
		}
	}
}

// ConvScratch is the number of elements of scratch one worker needs: one
// im2col tile.
func (g ConvGeom) ConvScratch() int {
	if g.Direct() || g.Depthwise() {
		return 0
	}
	return g.ColRows() * g.TileRows() * g.OW
}

// Direct (1×1) convolutions multiply the sample's input in place, in tiles
// of at most directTile output elements (whole if it fits), so that the
// bias written before a tile's GEMM and the ReLU applied after it find the
// tile in cache: one pass over the output instead of three.
var directTile = 1 << 16

// DirectCols is the number of output columns (pixels) of one tile of a
// direct convolution: a multiple of 16, or all of them.
func (g ConvGeom) DirectCols() int {
	mg, ohw := g.M/g.Group, g.OH*g.OW
	if mg*ohw <= directTile {
		return ohw
	}
	return min(ohw, max(16, directTile/mg/16*16))
}

// ConvForward computes samples [lo, hi) of y (N×M×OH×OW) from x (N×C×H×W),
// weights w (M×C/Group×KH×KW) and bias b ([M], or nil), followed by a ReLU
// when relu is set. col is scratch of ConvScratch elements. Each tile of the
// output gets its bias just before its GEMM adds the products (b + Σ, as
// GEMM with β = 1 rounds it) and its ReLU right after, while it is in cache.
func ConvForward[T Float](g ConvGeom, x, w, b, y []T, lo, hi int, col []T, relu bool) {
	in, out := g.C*g.H*g.W, g.M*g.OH*g.OW
	ohw := g.OH * g.OW
	mg, k := g.M/g.Group, g.ColRows()
	tile := g.TileRows()
	beta := T(0)
	if b != nil {
		beta = 1
	}
	// epilogue prepares (pre) or finishes (!pre) columns [c0, c1) of the
	// output channels of group gi of sample ys.
	epilogue := func(ys []T, gi, c0, c1 int, pre bool) {
		for m := gi * mg; m < (gi+1)*mg; m++ {
			row := ys[m*ohw+c0 : m*ohw+c1]
			switch {
			case pre && b != nil:
				fill(row, b[m])
			case !pre && relu:
				for i, v := range row {
					row[i] = max(v, 0) // NaN stays NaN
				}
			}
		}
	}
	for n := lo; n < hi; n++ {
		xs, ys := x[n*in:(n+1)*in], y[n*out:(n+1)*out]
		if g.Depthwise() {
			depthwiseForward(g, xs, w, b, ys, relu)
			continue
		}
		for gi := 0; gi < g.Group; gi++ {
			wg, yg := w[gi*mg*k:(gi+1)*mg*k], ys[gi*mg*ohw:(gi+1)*mg*ohw]
			if g.Direct() {
				xg := xs[gi*k*ohw : (gi+1)*k*ohw]
				step := g.DirectCols()
				for c0 := 0; c0 < ohw; c0 += step {
					c1 := min(c0+step, ohw)
					epilogue(ys, gi, c0, c1, true)
					blas.Gemm(false, false, mg, c1-c0, k, 1, wg, k, xg[c0:], ohw, beta, yg[c0:], ohw)
					epilogue(ys, gi, c0, c1, false)
				}
				continue
			}
			for r0 := 0; r0 < g.OH; r0 += tile {
				r1 := min(r0+tile, g.OH)
				cols := (r1 - r0) * g.OW
				im2col(g, xs, gi*(g.C/g.Group), col, r0, r1)
				epilogue(ys, gi, r0*g.OW, r1*g.OW, true)
				blas.Gemm(false, false, mg, cols, k, 1, wg, k, col, cols, beta, yg[r0*g.OW:], ohw)
				epilogue(ys, gi, r0*g.OW, r1*g.OW, false)
			}
		}
	}
}

// ConvBackwardInput computes samples [lo, hi) of dx, the gradient with respect
// to the input, from dy. col is scratch of ConvScratch elements.
func ConvBackwardInput[T Float](g ConvGeom, dy, w, dx []T, lo, hi int, col []T) {
	in, out := g.C*g.H*g.W, g.M*g.OH*g.OW
	ohw := g.OH * g.OW
	mg, k := g.M/g.Group, g.ColRows()
	tile := g.TileRows()
	for n := lo; n < hi; n++ {
		dys, dxs := dy[n*out:(n+1)*out], dx[n*in:(n+1)*in]
		if g.Depthwise() {
			depthwiseBackward(g, dys, w, dxs)
			continue
		}
		if g.Direct() {
			for gi := 0; gi < g.Group; gi++ {
				blas.Gemm(true, false, k, ohw, mg, 1, w[gi*mg*k:(gi+1)*mg*k], k, dys[gi*mg*ohw:(gi+1)*mg*ohw], ohw, 0, dxs[gi*k*ohw:(gi+1)*k*ohw], ohw)
			}
			continue
		}
		clear(dxs)
		for gi := 0; gi < g.Group; gi++ {
			wg, dyg := w[gi*mg*k:(gi+1)*mg*k], dys[gi*mg*ohw:(gi+1)*mg*ohw]
			for r0 := 0; r0 < g.OH; r0 += tile {
				r1 := min(r0+tile, g.OH)
				cols := (r1 - r0) * g.OW
				blas.Gemm(true, false, k, cols, mg, 1, wg, k, dyg[r0*g.OW:], ohw, 0, col, cols)
				col2imAdd(g, col, gi*(g.C/g.Group), dxs, r0, r1)
			}
		}
	}
}

// fill sets every element of v to c: 16 stores, then doubling copies.
// copy moves vectors at a time, a Go store loop one element (a bias fill
// took as long as the GEMM of a MobileNetV2 1×1 layer; by copies it is 5–10
// times faster on rows of 682 elements and more).
func fill[T Float](v []T, c T) {
	n := min(len(v), 16)
	for i := range v[:n] {
		v[i] = c
	}
	for ; n < len(v); n *= 2 {
		copy(v[n:], v[:n])
	}
}
