package corruption

import "math"

// elasticTransform is the reference's elastic_transform: a random affine
// warp (three control points moved by up to ±c₂, OpenCV's warpAffine with
// bilinear interpolation and reflect-101 borders), then a displacement field
// of Gaussian-smoothed uniform noise (σ c₁, truncate 3, reflect borders)
// scaled by c₀, sampled with scipy's map_coordinates (linear, reflect).
func elasticTransform(m *image, sc Scale, severity int, r source) error {
	var c [3]float64
	// The reference writes its parameters as multiples of IMSIZE = 32
	// (CIFAR) and of 244 (ImageNet, meant as 224, as its comment says);
	// they scale with the actual size.
	if sc == CIFAR {
		f := [5][3]float64{{0, 0, 0.08}, {0.05, 0.2, 0.07}, {0.08, 0.06, 0.06}, {0.1, 0.04, 0.05}, {0.1, 0.03, 0.03}}[severity-1]
		s := float64(min(m.h, m.w))
		c = [3]float64{s * f[0], s * f[1], s * f[2]}
		if m.h == 32 && m.w == 32 {
			c = [3]float64{32 * f[0], 32 * f[1], 32 * f[2]}
		}
	} else {
		f := [5][3]float64{{2, 0.7, 0.1}, {2, 0.08, 0.2}, {0.05, 0.01, 0.02}, {0.07, 0.01, 0.02}, {0.12, 0.01, 0.02}}[severity-1]
		s := 244 * float64(min(m.h, m.w)) / 224
		if m.h == 224 && m.w == 224 {
			s = 244
		}
		c = [3]float64{s * f[0], s * f[1], s * f[2]}
	}
	h, w := m.h, m.w
	// float32 like the reference's np.float32 arrays
	x32 := make([][]float32, m.c)
	for ch := range x32 {
		x32[ch] = make([]float32, h*w)
		for i, v := range m.plane(ch) {
			x32[ch][i] = float32(v)
		}
	}
	c0, c1 := float32(h/2), float32(w/2)
	sq := float32(min(h, w) / 3)
	pts1 := [3][2]float32{{c0 + sq, c1 + sq}, {c0 + sq, c1 - sq}, {c0 - sq, c1 - sq}}
	u := r.uniform(6, -c[2], c[2])
	var pts2 [3][2]float32
	for i := range pts2 {
		for j := range pts2[i] {
			pts2[i][j] = pts1[i][j] + float32(u[2*i+j])
		}
	}
	warped := warpAffine(x32, h, w, affineTransform(pts1, pts2))

	dx := displacement(r.uniform(h*w, -1, 1), h, w, c[1], c[0])
	dy := displacement(r.uniform(h*w, -1, 1), h, w, c[1], c[0])
	for ch := 0; ch < m.c; ch++ {
		src, pl := warped[ch], m.plane(ch)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*w + x
				pl[i] = clip01(float64(float32(mapLinear(src, h, w, float64(y)+float64(dy[i]), float64(x)+float64(dx[i])))))
			}
		}
	}
	return nil
}

func displacement(u []float64, h, w int, sigma, scale float64) []float32 {
	g := gaussianFilter(u, h, w, sigma, 3, reflect)
	out := make([]float32, len(g))
	for i, v := range g {
		out[i] = float32(v * scale)
	}
	return out
}

// mapLinear is scipy.ndimage.map_coordinates of order 1 with mode
// "reflect" at (y, x): linear interpolation of the half-sample-symmetric
// extension.
func mapLinear(p []float32, h, w int, y, x float64) float64 {
	y0f, x0f := math.Floor(y), math.Floor(x)
	ty, tx := y-y0f, x-x0f
	y0, x0 := int(y0f), int(x0f)
	ya, yb := reflect.index(y0, h), reflect.index(y0+1, h)
	xa, xb := reflect.index(x0, w), reflect.index(x0+1, w)
	return (1-ty)*((1-tx)*float64(p[ya*w+xa])+tx*float64(p[ya*w+xb])) +
		ty*((1-tx)*float64(p[yb*w+xa])+tx*float64(p[yb*w+xb]))
}

// affineTransform is OpenCV's getAffineTransform: the 2×3 matrix taking the
// three points src (as (x, y)) to dst, by solving the 6×6 system with
// partial pivoting.
func affineTransform(src, dst [3][2]float32) [6]float64 {
	var a [6][7]float64
	for i := 0; i < 3; i++ {
		x, y := float64(src[i][0]), float64(src[i][1])
		a[2*i] = [7]float64{x, y, 1, 0, 0, 0, float64(dst[i][0])}
		a[2*i+1] = [7]float64{0, 0, 0, x, y, 1, float64(dst[i][1])}
	}
	for col := 0; col < 6; col++ {
		p := col
		for r := col + 1; r < 6; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		if a[col][col] == 0 {
			return [6]float64{1, 0, 0, 0, 1, 0} // collinear points: identity
		}
		for r := col + 1; r < 6; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < 7; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	var m [6]float64
	for r := 5; r >= 0; r-- {
		s := a[r][6]
		for k := r + 1; k < 6; k++ {
			s -= a[r][k] * m[k]
		}
		m[r] = s / a[r][r]
	}
	return m
}

// warpAffine is OpenCV's warpAffine(src, M, (w, h)) with INTER_LINEAR and
// BORDER_REFLECT_101 on float32 planes: the inverse map in fixed point
// (10 fractional bits, rounded to 1/32 pixel) and float32 weights.
func warpAffine(src [][]float32, h, w int, m [6]float64) [][]float32 {
	const abBits, interBits = 10, 5
	const abScale, tab = 1 << abBits, 1 << interBits
	const roundDelta = abScale / tab / 2
	// invert M as warpAffine does without WARP_INVERSE_MAP
	d := m[0]*m[4] - m[1]*m[3]
	if d != 0 {
		d = 1 / d
	}
	a11, a22 := m[4]*d, m[0]*d
	m[0] = a11
	m[1] *= -d
	m[3] *= -d
	m[4] = a22
	b1 := -m[0]*m[2] - m[1]*m[5]
	b2 := -m[3]*m[2] - m[4]*m[5]
	m[2], m[5] = b1, b2

	adelta := make([]int, w)
	bdelta := make([]int, w)
	for x := range adelta {
		adelta[x] = cvRound(m[0] * float64(x) * abScale)
		bdelta[x] = cvRound(m[3] * float64(x) * abScale)
	}
	out := make([][]float32, len(src))
	for ch := range out {
		out[ch] = make([]float32, h*w)
	}
	for y := 0; y < h; y++ {
		x0 := cvRound((m[1]*float64(y)+m[2])*abScale) + roundDelta
		y0 := cvRound((m[4]*float64(y)+m[5])*abScale) + roundDelta
		for x := 0; x < w; x++ {
			X := (x0 + adelta[x]) >> (abBits - interBits)
			Y := (y0 + bdelta[x]) >> (abBits - interBits)
			sx, sy := X>>interBits, Y>>interBits
			fx := float32(X&(tab-1)) * (1.0 / tab)
			fy := float32(Y&(tab-1)) * (1.0 / tab)
			w00, w01 := (1-fy)*(1-fx), (1-fy)*fx
			w10, w11 := fy*(1-fx), fy*fx
			xa, xb := reflect101.index(sx, w), reflect101.index(sx+1, w)
			ya, yb := reflect101.index(sy, h), reflect101.index(sy+1, h)
			for ch := range src {
				s := src[ch]
				out[ch][y*w+x] = s[ya*w+xa]*w00 + s[ya*w+xb]*w01 + s[yb*w+xa]*w10 + s[yb*w+xb]*w11
			}
		}
	}
	return out
}

// cvRound rounds half to even, as OpenCV's cvRound (lrint).
func cvRound(v float64) int { return int(math.RoundToEven(v)) }
