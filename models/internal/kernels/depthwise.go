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

// depthwiseForward computes one sample: ys (M×OH×OW) from xs (C×H×W),
// adding to ys (which holds the bias or zeros).
func depthwiseForward[T Float](g ConvGeom, xs, w, ys []T) {
	mg := g.M / g.Group
	for m := 0; m < g.M; m++ {
		plane := xs[(m/mg)*g.H*g.W : (m/mg+1)*g.H*g.W]
		out := ys[m*g.OH*g.OW : (m+1)*g.OH*g.OW]
		wm := w[m*g.KH*g.KW : (m+1)*g.KH*g.KW]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				wv := wm[kh*g.KW+kw]
				lo, hi := g.validCols(kw)
				if lo >= hi {
					continue
				}
				off := kw*g.DW - g.PL
				for oh := 0; oh < g.OH; oh++ {
					ih := oh*g.SH - g.PT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					src := plane[ih*g.W : (ih+1)*g.W]
					dst := out[oh*g.OW : (oh+1)*g.OW]
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
}

// depthwiseBackward computes one sample's input gradient dxs (C×H×W) from
// dys (M×OH×OW), overwriting dxs.
func depthwiseBackward[T Float](g ConvGeom, dys, w, dxs []T) {
	clear(dxs)
	mg := g.M / g.Group
	for m := 0; m < g.M; m++ {
		plane := dxs[(m/mg)*g.H*g.W : (m/mg+1)*g.H*g.W]
		in := dys[m*g.OH*g.OW : (m+1)*g.OH*g.OW]
		wm := w[m*g.KH*g.KW : (m+1)*g.KH*g.KW]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				wv := wm[kh*g.KW+kw]
				lo, hi := g.validCols(kw)
				if lo >= hi {
					continue
				}
				off := kw*g.DW - g.PL
				for oh := 0; oh < g.OH; oh++ {
					ih := oh*g.SH - g.PT + kh*g.DH
					if ih < 0 || ih >= g.H {
						continue
					}
					dst := plane[ih*g.W : (ih+1)*g.W]
					src := in[oh*g.OW : (oh+1)*g.OW]
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
