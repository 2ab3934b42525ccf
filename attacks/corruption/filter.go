package corruption

import "math"

// Border modes of the filters, named after scipy.ndimage's.
type border int

const (
	nearest    border = iota // a a a | a b c d | d d d (scipy "nearest", OpenCV BORDER_REPLICATE)
	reflect                  // b a | a b c d | d c    (scipy "reflect": half-sample symmetric)
	reflect101               // c b | a b c d | c b    (OpenCV BORDER_REFLECT_101, scipy "mirror")
)

// index maps i, possibly outside [0, n), into [0, n) by the border mode.
func (b border) index(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	switch b {
	case nearest:
		return min(max(i, 0), n-1)
	case reflect:
		if n == 1 {
			return 0
		}
		p := 2 * n
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - 1 - i
		}
		return i
	default: // reflect101
		if n == 1 {
			return 0
		}
		p := 2*n - 2
		i %= p
		if i < 0 {
			i += p
		}
		if i >= n {
			i = p - i
		}
		return i
	}
}

// gaussianKernel returns scipy.ndimage's 1-D Gaussian weights for sigma,
// truncated at radius ⌊truncate·sigma + ½⌋ and normalised; index r is the
// centre.
func gaussianKernel(sigma, truncate float64) []float64 {
	r := int(truncate*sigma + 0.5)
	k := make([]float64, 2*r+1)
	s2 := sigma * sigma
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-0.5 / s2 * (x * x))
	}
	sum := pairwiseSum(k)
	for i := range k {
		k[i] /= sum
	}
	return k
}

// pairwiseSum adds as numpy's sum does (pairwise, eight accumulators), so
// normalised kernels equal the reference's to the last bit.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		s := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// correlate1d filters p (h×w) along rows (axis 1) or columns (axis 0) with
// the symmetric kernel k, in scipy's order of operations (centre first, then
// pairs from the outside in).
func correlate1d(p []float64, h, w int, axis int, k []float64, b border) []float64 {
	r := len(k) / 2
	out := make([]float64, len(p))
	n, stride, lines, lstride := w, 1, h, w
	if axis == 0 {
		n, stride, lines, lstride = h, w, w, 1
	}
	line := make([]float64, n+2*r)
	for l := 0; l < lines; l++ {
		base := l * lstride
		for i := -r; i < n+r; i++ {
			line[i+r] = p[base+b.index(i, n)*stride]
		}
		for i := 0; i < n; i++ {
			c := i + r
			s := line[c] * k[r]
			for j := -r; j < 0; j++ {
				s += (line[c+j] + line[c-j]) * k[r+j]
			}
			out[base+i*stride] = s
		}
	}
	return out
}

// gaussianFilter is skimage.filters.gaussian of one channel: scipy's
// gaussian_filter over both axes (axis 0 first) with the border mode.
func gaussianFilter(p []float64, h, w int, sigma, truncate float64, b border) []float64 {
	if sigma <= 1e-15 {
		return append([]float64(nil), p...)
	}
	k := gaussianKernel(sigma, truncate)
	return correlate1d(correlate1d(p, h, w, 0, k, b), h, w, 1, k, b)
}

// filter2D correlates p (h×w) with the kh×kw kernel k (kh, kw odd)
// anchored at its centre, with OpenCV's default border (reflect101). A
// kernel symmetric about its centre row and column (as defocus's disk) is
// applied by adding the mirrored rows and columns first, a quarter of the
// multiplications.
func filter2D(p []float64, h, w int, k []float64, kh, kw int) []float64 {
	ry, rx := kh/2, kw/2
	// the plane padded by reflection, so the inner loops need no border
	// logic
	pw := w + 2*rx
	pad := make([]float64, (h+2*ry)*pw)
	for y := -ry; y < h+ry; y++ {
		row := p[reflect101.index(y, h)*w:]
		dst := pad[(y+ry)*pw:]
		for x := -rx; x < w+rx; x++ {
			dst[x+rx] = row[reflect101.index(x, w)]
		}
	}
	out := make([]float64, len(p))
	if !symmetric(k, kh, kw) {
		for y := 0; y < h; y++ {
			o := out[y*w : (y+1)*w]
			for i := 0; i < kh; i++ {
				src := pad[(y+i)*pw:]
				krow := k[i*kw : (i+1)*kw]
				for x := range o {
					acc := 0.0
					for j, kv := range krow {
						acc += kv * src[x+j]
					}
					o[x] += acc
				}
			}
		}
		return out
	}
	// rows i ≤ ry of the kernel, columns j ≤ rx, without leading zeros
	type span struct {
		i, j0 int
		k     []float64
	}
	var rows []span
	for i := 0; i <= ry; i++ {
		krow := k[i*kw : i*kw+rx+1]
		j0 := 0
		for j0 < len(krow) && krow[j0] == 0 {
			j0++
		}
		if j0 < len(krow) {
			rows = append(rows, span{i, j0, krow[j0:]})
		}
	}
	sum := make([]float64, pw)
	for y := 0; y < h; y++ {
		o := out[y*w : (y+1)*w]
		for _, r := range rows {
			a := pad[(y+r.i)*pw : (y+r.i+1)*pw]
			if r.i < ry {
				b := pad[(y+kh-1-r.i)*pw : (y+kh-r.i)*pw]
				for x := range sum {
					sum[x] = a[x] + b[x]
				}
			} else {
				copy(sum, a)
			}
			n := len(r.k)
			for x := range o {
				acc := 0.0
				for j, kv := range r.k[:n-1] {
					acc += kv * (sum[x+r.j0+j] + sum[x+kw-1-r.j0-j])
				}
				o[x] += acc + r.k[n-1]*sum[x+rx]
			}
		}
	}
	return out
}

// symmetric reports whether k is symmetric about its centre row and column.
func symmetric(k []float64, kh, kw int) bool {
	for i := 0; i < kh; i++ {
		for j := 0; j < kw; j++ {
			v := k[i*kw+j]
			if v != k[(kh-1-i)*kw+j] || v != k[i*kw+kw-1-j] {
				return false
			}
		}
	}
	return true
}
