package kernels

// Depthwise convolutions (one input channel per group: MobileNet,
// EfficientNet) are computed directly, with no im2col copy and no scratch.
// As im2col + GEMM they are one GEMM per channel of a single row of
// weights, KH·KW deep, on which BLAS runs far below its speed; the direct
// loops take about the same time (BenchmarkConv/depthwise144x56) without
// the copy.

// Depthwise reports whether every group has one input channel, so the
// convolution runs on the direct depthwise kernels.
func (g ConvGeom) Depthwise() bool { return g.C == g.Group && !g.Direct() }

// validCols returns the output columns [lo, hi) whose input column
// ow·SW − PL + kw·DW lies inside the image.
func (g ConvGeom) validCols(kw int) (lo, hi int) {
	off := kw*g.DW - g.PL
	lo = 0
	if off < 0 {
		lo = (-off + g.SW - 1) / g.SW
	}
	hi = g.OW
	if last := g.W - 1 - off; last < 0 {
		hi = 0
	} else {
		hi = min(hi, last/g.SW+1)
	}
	return lo, max(lo, hi)
}

// depthwiseForward computes one sample: ys (M×OH×OW) from xs (C×H×W), the
// bias b (or nil) and, with relu, a ReLU. Each output plane is started
// from its bias, summed over the taps and rectified while it is in cache.
func depthwiseForward[T Float](g ConvGeom, xs, w, b, ys []T, relu bool) {
	mg := g.M / g.Group
	for m := 0; m < g.M; m++ {
		plane := xs[(m/mg)*g.H*g.W : (m/mg+1)*g.H*g.W]
		out := ys[m*g.OH*g.OW : (m+1)*g.OH*g.OW]
		wm := w[m*g.KH*g.KW : (m+1)*g.KH*g.KW]
		if b != nil {
			fill(out, b[m])
		} else {
			clear(out)
		}
		depthwisePlane(g, plane, wm, out)
		if relu {
			for i, v := range out {
				out[i] = max(v, 0) // NaN stays NaN
			}
		}
	}
}

// colRange holds validCols for every kw of a kernel up to maxKW wide, so
// that the row loops below do not divide.
const maxKW = 16

func (g ConvGeom) colRanges(r *[maxKW][2]int) {
	for kw := 0; kw < min(g.KW, maxKW); kw++ {
		r[kw][0], r[kw][1] = g.validCols(kw)
	}
}

func (g ConvGeom) colRange(r *[maxKW][2]int, kw int) (lo, hi int) {
	if kw < maxKW {
		return r[kw][0], r[kw][1]
	}
	return g.validCols(kw)
}

// depthwisePlane adds the taps wm (KH×KW) of one channel's input plane to
// its output plane out (OH×OW), one output row at a time so that the row
// stays in L1 over the taps; every element still sums its taps in (kh, kw)
// order.
func depthwisePlane[T Float](g ConvGeom, plane, wm, out []T) {
	var cr [maxKW][2]int
	g.colRanges(&cr)
	for oh := 0; oh < g.OH; oh++ {
		dst := out[oh*g.OW : (oh+1)*g.OW]
		for kh := 0; kh < g.KH; kh++ {
			ih := oh*g.SH - g.PT + kh*g.DH
			if ih < 0 || ih >= g.H {
				continue
			}
			src := plane[ih*g.W : (ih+1)*g.W]
			for kw := 0; kw < g.KW; kw++ {
				lo, hi := g.colRange(&cr, kw)
				if lo >= hi {
					continue
				}
				wv := wm[kh*g.KW+kw]
				off := kw*g.DW - g.PL
				if g.SW == 1 {
					s := src[lo+off : hi+off]
					d := dst[lo:hi]
					for i := range d {
						d[i] += wv * s[i]
					}
					continue
				}
				for ow := lo; ow < hi; ow++ {
					dst[ow] += wv * src[ow*g.SW+off]
				}
			}
		}
	}
}

// depthwiseBackward computes one sample's input gradient dxs (C×H×W) from
// dys (M×OH×OW), overwriting dxs. It runs over the input rows, so that a
// row stays in L1 while it gathers its taps, in the (kh, kw) order of the
// forward loops: input row ih receives tap kh from output row
// oh = (ih + PT − kh·DH)/SH when that is a whole row inside the output.
func depthwiseBackward[T Float](g ConvGeom, dys, w, dxs []T) {
	clear(dxs)
	mg := g.M / g.Group
	var cr [maxKW][2]int
	g.colRanges(&cr)
	for m := 0; m < g.M; m++ {
		plane := dxs[(m/mg)*g.H*g.W : (m/mg+1)*g.H*g.W]
		in := dys[m*g.OH*g.OW : (m+1)*g.OH*g.OW]
		wm := w[m*g.KH*g.KW : (m+1)*g.KH*g.KW]
		for ih := 0; ih < g.H; ih++ {
			dst := plane[ih*g.W : (ih+1)*g.W]
			for kh := 0; kh < g.KH; kh++ {
				t := ih + g.PT - kh*g.DH
				if t < 0 || t%g.SH != 0 || t/g.SH >= g.OH {
					continue
				}
				oh := t / g.SH
				src := in[oh*g.OW : (oh+1)*g.OW]
				for kw := 0; kw < g.KW; kw++ {
					lo, hi := g.colRange(&cr, kw)
					if lo >= hi {
						continue
					}
					wv := wm[kh*g.KW+kw]
					off := kw*g.DW - g.PL
					if g.SW == 1 {
						d := dst[lo+off : hi+off]
						s := src[lo:hi]
						for i := range d {
							d[i] += wv * s[i]
						}
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow*g.SW+off] += wv * src[ow]
					}
				}
			}
		}
	}
}
