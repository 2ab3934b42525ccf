package corruption

// brightness adds c to the value (V) channel in HSV and clips it, as
// skimage's rgb2hsv/hsv2rgb round trip does. hsv2rgb is linear in V for a
// fixed hue and saturation, so the RGB values scale by V'/V; a black pixel
// (V = 0, no hue, no saturation) becomes gray V'. A gray image is its own
// V channel.
func brightness(m *image, sc Scale, severity int, _ source) error {
	c := pick(sc, severity,
		[5]float64{0.05, 0.1, 0.15, 0.2, 0.3},
		[5]float64{0.1, 0.2, 0.3, 0.4, 0.5})
	n := m.h * m.w
	for i := 0; i < n; i++ {
		v := 0.0
		for ch := 0; ch < m.c; ch++ {
			v = max(v, m.pix[ch*n+i])
		}
		v2 := clip01(v + c)
		for ch := 0; ch < m.c; ch++ {
			if v == 0 {
				m.pix[ch*n+i] = v2
			} else {
				m.pix[ch*n+i] = clip01(m.pix[ch*n+i] * (v2 / v))
			}
		}
	}
	return nil
}

// contrast pulls each channel towards its mean: (x − μ)·c + μ.
func contrast(m *image, sc Scale, severity int, _ source) error {
	c := pick(sc, severity,
		[5]float64{0.75, 0.5, 0.4, 0.3, 0.15},
		[5]float64{0.4, 0.3, 0.2, 0.1, 0.05})
	for ch := 0; ch < m.c; ch++ {
		p := m.plane(ch)
		mean := 0.0
		for _, v := range p {
			mean += v
		}
		mean /= float64(len(p))
		for i, v := range p {
			p[i] = clip01((v-mean)*c + mean)
		}
	}
	return nil
}

// pixelate downsizes to ⌊c·size⌋ and back with PIL's BOX filter: each
// output pixel is the mean of the input pixels whose centres fall in its
// box. PIL rounds to 8 bits after each pass; this keeps the means.
func pixelate(m *image, sc Scale, severity int, _ source) error {
	c := pick(sc, severity,
		[5]float64{0.95, 0.9, 0.85, 0.75, 0.65},
		[5]float64{0.6, 0.5, 0.4, 0.3, 0.25})
	sh, sw := int(float64(m.h)*c), int(float64(m.w)*c)
	small := resizeBox(m, sh, sw)
	back := resizeBox(small, m.h, m.w)
	copy(m.pix, back.pix)
	return nil
}

// resizeBox resizes m to h×w with PIL's BOX filter (horizontal pass, then
// vertical).
func resizeBox(m *image, h, w int) *image {
	tmp := newImage(m.c, m.h, w)
	cx := boxCoeffs(m.w, w)
	for ch := 0; ch < m.c; ch++ {
		src, dst := m.plane(ch), tmp.plane(ch)
		for y := 0; y < m.h; y++ {
			row := src[y*m.w : (y+1)*m.w]
			for x, b := range cx {
				s := 0.0
				for k := b.lo; k < b.hi; k++ {
					s += row[k]
				}
				dst[y*w+x] = s / float64(b.hi-b.lo)
			}
		}
	}
	out := newImage(m.c, h, w)
	cy := boxCoeffs(m.h, h)
	for ch := 0; ch < m.c; ch++ {
		src, dst := tmp.plane(ch), out.plane(ch)
		for y, b := range cy {
			for x := 0; x < w; x++ {
				s := 0.0
				for k := b.lo; k < b.hi; k++ {
					s += src[k*w+x]
				}
				dst[y*w+x] = s / float64(b.hi-b.lo)
			}
		}
	}
	return out
}

type span struct{ lo, hi int }

// boxCoeffs returns, for each of out output pixels, the input pixels [lo,
// hi) that PIL's BOX filter averages (ImagingResample's precompute_coeffs
// with support ½·scale and the box −½ ≤ t < ½ on pixel centres).
func boxCoeffs(in, out int) []span {
	scale := float64(in) / float64(out)
	fscale := max(scale, 1)
	support := 0.5 * fscale
	res := make([]span, out)
	for xx := range res {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / fscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), in)
		lo, hi := -1, -1
		for x := xmin; x < xmax; x++ {
			t := (float64(x) - center + 0.5) * ss
			if t >= -0.5 && t < 0.5 {
				if lo < 0 {
					lo = x
				}
				hi = x + 1
			}
		}
		if lo < 0 { // cannot happen for in, out ≥ 1; keep the nearest pixel
			lo = min(int(center), in-1)
			hi = lo + 1
		}
		res[xx] = span{lo, hi}
	}
	return res
}
