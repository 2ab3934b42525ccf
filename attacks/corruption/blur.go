package corruption

import "math"

// defocusBlur convolves each channel with an anti-aliased disk (a disk of
// the radius, blurred by a small Gaussian), as OpenCV's filter2D with its
// reflect-101 border.
func defocusBlur(m *image, sc Scale, severity int, _ source) error {
	p := pick(sc, severity,
		[5][2]float64{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}},
		[5][2]float64{{3, 0.1}, {4, 0.5}, {6, 0.5}, {8, 0.5}, {10, 0.5}})
	k, n := diskKernel(p[0], p[1])
	for ch := 0; ch < m.c; ch++ {
		out := filter2D(m.plane(ch), m.h, m.w, k, n, n)
		pl := m.plane(ch)
		for i, v := range out {
			pl[i] = clip01(v)
		}
	}
	return nil
}

// diskKernel returns the reference's disk(radius, alias_blur): the
// indicator of x² + y² ≤ r² on a (2L+1)² grid (L = 8, or the radius when
// larger), normalised, then blurred by OpenCV's GaussianBlur with a 3×3
// (5×5 for radius > 8) kernel of σ alias_blur and reflect-101 borders.
func diskKernel(radius, aliasBlur float64) ([]float64, int) {
	l, ks := 8, 3
	if radius > 8 {
		l, ks = int(radius), 5
	}
	n := 2*l + 1
	d := make([]float64, n*n)
	count := 0.0
	for y := -l; y <= l; y++ {
		for x := -l; x <= l; x++ {
			if float64(x*x+y*y) <= radius*radius {
				d[(y+l)*n+x+l] = 1
				count++
			}
		}
	}
	for i := range d {
		d[i] = float64(float32(d[i]) / float32(count))
	}
	// OpenCV's getGaussianKernel(ks, σ), as float32.
	g := make([]float64, ks)
	sum := 0.0
	for i := range g {
		x := float64(i) - float64(ks-1)*0.5
		g[i] = math.Exp(-0.5 / (aliasBlur * aliasBlur) * x * x)
		sum += g[i]
	}
	for i := range g {
		g[i] = float64(float32(g[i] / sum))
	}
	r := ks / 2
	tmp := make([]float64, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s := 0.0
			for j := -r; j <= r; j++ {
				s += g[j+r] * d[y*n+reflect101.index(x+j, n)]
			}
			tmp[y*n+x] = float64(float32(s))
		}
	}
	out := make([]float64, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s := 0.0
			for j := -r; j <= r; j++ {
				s += g[j+r] * tmp[reflect101.index(y+j, n)*n+x]
			}
			out[y*n+x] = float64(float32(s))
		}
	}
	return out, n
}

// glassBlur blurs, then moves pixels locally, then blurs again (the
// reference's "locally shuffle pixels"). The first blur is truncated to 8
// bits as in the reference. The reference's swap of two pixels is a numpy
// tuple assignment of views, which copies the pixel at (h+dy, w+dx) to
// (h, w) and leaves the other unchanged; this does the same, since that is
// what the published datasets contain.
func glassBlur(m *image, sc Scale, severity int, r source) error {
	p := pick(sc, severity,
		[5][3]float64{{0.05, 1, 1}, {0.25, 1, 1}, {0.4, 1, 1}, {0.25, 1, 2}, {0.4, 1, 2}},
		[5][3]float64{{0.7, 1, 2}, {0.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}})
	sigma, delta, iters := p[0], int(p[1]), int(p[2])
	n := m.h * m.w
	for ch := 0; ch < m.c; ch++ {
		g := gaussianFilter(m.plane(ch), m.h, m.w, sigma, 4, nearest)
		pl := m.plane(ch)
		for i, v := range g {
			pl[i] = math.Trunc(v*255) / 255
		}
	}
	for it := 0; it < iters; it++ {
		// for h in range(H − δ, δ, −1): for w in range(W − δ, δ, −1)
		rows, cols := m.h-2*delta, m.w-2*delta
		if rows <= 0 || cols <= 0 {
			break
		}
		d := r.randint(2*rows*cols, -delta, delta)
		k := 0
		for y := m.h - delta; y > delta; y-- {
			for x := m.w - delta; x > delta; x-- {
				dx, dy := d[k], d[k+1]
				k += 2
				yp, xp := y+dy, x+dx
				if yp >= m.h || xp >= m.w {
					continue // only at H−δ+δ−1 < H; kept for other sizes' safety
				}
				for ch := 0; ch < m.c; ch++ {
					m.pix[ch*n+y*m.w+x] = m.pix[ch*n+yp*m.w+xp]
				}
			}
		}
	}
	for ch := 0; ch < m.c; ch++ {
		g := gaussianFilter(m.plane(ch), m.h, m.w, sigma, 4, nearest)
		pl := m.plane(ch)
		for i, v := range g {
			pl[i] = clip01(v)
		}
	}
	return nil
}

// zoomBlur averages the image with copies of itself zoomed about the centre
// by each factor of an arange (the reference's clipped_zoom: crop ⌈H/z⌉,
// scipy.ndimage.zoom with linear interpolation, crop the centre back),
// in float32 like the reference.
func zoomBlur(m *image, sc Scale, severity int, _ source) error {
	a := pick(sc, severity,
		[5][3]float64{{1, 1.06, 0.01}, {1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.01}, {1, 1.26, 0.01}},
		[5][3]float64{{1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.02}, {1, 1.26, 0.02}, {1, 1.31, 0.03}})
	zs := arange(a[0], a[1], a[2])
	n := m.h * m.w
	for ch := 0; ch < m.c; ch++ {
		pl := m.plane(ch)
		x := make([]float32, n)
		x64 := make([]float64, n)
		for i, v := range pl {
			x[i] = float32(v)
			x64[i] = float64(x[i])
		}
		sum := make([]float32, n)
		zoomed := make([]float64, n)
		for _, z := range zs {
			// scipy interpolates float32 input in float64, output float32
			for i, v := range clippedZoom(zoomed, x64, m.h, m.w, z) {
				sum[i] += float32(v)
			}
		}
		div := float32(len(zs) + 1)
		for i := range pl {
			pl[i] = clip01(float64((x[i] + sum[i]) / div))
		}
	}
	return nil
}

// arange returns numpy's np.arange(start, stop, step) for floats: length
// ⌈(stop − start)/step⌉ and values start + i·((start + step) − start).
func arange(start, stop, step float64) []float64 {
	n := int(math.Ceil((stop - start) / step))
	delta := (start + step) - start
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(i)*delta
	}
	return out
}

// clippedZoom zooms the centre of the h×w plane by z and crops it back to
// h×w: the reference's clipped_zoom, per axis (the reference crops square
// images by their height).
// dst receives the result; nil means allocate.
func clippedZoom(dst, x []float64, h, w int, z float64) []float64 {
	ys := zoomAxis(h, z)
	xs := zoomAxis(w, z)
	out := dst
	if out == nil {
		out = make([]float64, h*w)
	}
	for oy, sy := range ys {
		for ox, sx := range xs {
			v0 := x[sy.i0*w+sx.i0]*(1-sx.t) + x[sy.i0*w+sx.i1]*sx.t
			v1 := x[sy.i1*w+sx.i0]*(1-sx.t) + x[sy.i1*w+sx.i1]*sx.t
			out[oy*w+ox] = v0*(1-sy.t) + v1*sy.t
		}
	}
	return out
}

// tap is a linear interpolation between input indices i0 and i1 with weight t
// on i1.
type tap struct {
	i0, i1 int
	t      float64
}

// zoomAxis returns, for each of the n kept output positions of one axis, its
// linear interpolation in the input: crop c = ⌈n/z⌉ centred at ⌊(n−c)/2⌋,
// zoom to round(c·z) (Python's round) mapping output k to k·(c−1)/(out−1)
// (scipy.ndimage.zoom, grid_mode off), keep out[⌊(out−n)/2⌋ ...].
func zoomAxis(n int, z float64) []tap {
	c := int(math.Ceil(float64(n) / z))
	top := (n - c) / 2
	size := int(math.RoundToEven(float64(c) * z))
	f := 1.0
	if size > 1 {
		f = float64(c-1) / float64(size-1)
	}
	trim := (size - n) / 2
	taps := make([]tap, n)
	for k := range taps {
		cc := float64(k+trim) * f
		// scipy's constant mode gives 0 where cc overshoots c−1 by a
		// rounding error; that happens at none of the published sizes, and
		// the edge value is kept here.
		cc = min(cc, float64(c-1))
		i0 := int(math.Floor(cc))
		i1 := min(i0+1, c-1)
		taps[k] = tap{top + i0, top + i1, cc - float64(i0)}
	}
	return taps
}

// motionBlur blurs along a random direction (angle uniform in [−45°, 45°))
// with ImageMagick's MotionBlurImage (see motionBlurPlane).
func motionBlur(m *image, sc Scale, severity int, r source) error {
	p := pick(sc, severity,
		[5][2]float64{{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}},
		[5][2]float64{{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}})
	angle := r.uniform(1, -45, 45)[0]
	for ch := 0; ch < m.c; ch++ {
		pl := m.plane(ch)
		copy(pl, motionBlurPlane(pl, m.h, m.w, p[0], p[1], angle))
		for i, v := range pl {
			pl[i] = clip01(v)
		}
	}
	return nil
}

// motionBlurPlane is ImageMagick 6's MotionBlurImage(radius, sigma, angle)
// of one plane: a one-sided Gaussian kernel of 2⌈radius⌉+1 taps (weight
// exp(−i²/2σ²), normalised), tap i sampling the pixel ⌈i·cos a − ½⌉ columns
// and ⌈i·sin a − ½⌉ rows away, edge pixels repeated beyond the border.
func motionBlurPlane(p []float64, h, w int, radius, sigma, angle float64) []float64 {
	width := int(2*math.Ceil(radius) + 1)
	k := make([]float64, width)
	sum := 0.0
	for i := range k {
		k[i] = math.Exp(-float64(i*i)/(2*sigma*sigma)) / (math.Sqrt(2*math.Pi) * sigma)
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	a := angle * math.Pi / 180
	px, py := float64(width)*math.Sin(a), float64(width)*math.Cos(a)
	hyp := math.Hypot(px, py)
	dx := make([]int, width)
	dy := make([]int, width)
	for i := range dx {
		dx[i] = int(math.Ceil(float64(i)*py/hyp - 0.5))
		dy[i] = int(math.Ceil(float64(i)*px/hyp - 0.5))
	}
	// taps as offsets into the plane, for pixels whose taps all lie inside
	lin := make([]int, width)
	x0, x1, y0, y1 := 0, w, 0, h // the interior: x0 ≤ x < x1, y0 ≤ y < y1
	for i := range lin {
		lin[i] = dy[i]*w + dx[i]
		x0, x1 = max(x0, -dx[i]), min(x1, w-dx[i])
		y0, y1 = max(y0, -dy[i]), min(y1, h-dy[i])
	}
	out := make([]float64, len(p))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			if y >= y0 && y < y1 && x >= x0 && x < x1 {
				base := y*w + x
				for i, kv := range k {
					s += kv * p[base+lin[i]]
				}
			} else {
				for i, kv := range k {
					s += kv * p[nearest.index(y+dy[i], h)*w+nearest.index(x+dx[i], w)]
				}
			}
			out[y*w+x] = s
		}
	}
	return out
}
