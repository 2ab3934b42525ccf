package corruption

import "math"

// fog adds a plasma fractal (diamond-square) to every channel and rescales:
// clip((x + c·f)·max(x)/(max(x) + c)).
func fog(m *image, sc Scale, severity int, r source) error {
	p := pick(sc, severity,
		[5][2]float64{{0.2, 3}, {0.5, 3}, {0.75, 2.5}, {1, 2}, {1.5, 1.75}},
		[5][2]float64{{1.5, 2}, {2, 2}, {2.5, 1.7}, {2.5, 1.5}, {3, 1.4}})
	size := 1
	for size < max(m.h, m.w) {
		size *= 2
	}
	f := plasmaFractal(size, p[1], r)
	maxv := 0.0
	for _, v := range m.pix {
		maxv = max(maxv, v)
	}
	for ch := 0; ch < m.c; ch++ {
		pl := m.plane(ch)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				i := y*m.w + x
				v := pl[i] + p[0]*f[y*size+x]
				pl[i] = clip01(v * maxv / (maxv + p[0]))
			}
		}
	}
	return nil
}

// plasmaFractal is the reference's diamond-square height map of side n (a
// power of two), scaled to [0, 1]: the same steps, roll directions and
// order of random draws (np.random.uniform(−wibble, wibble) per new point,
// row-major per step).
func plasmaFractal(n int, decay float64, r source) []float64 {
	a := make([]float64, n*n)
	at := func(y, x int) *float64 { return &a[(y%n+n)%n*n+(x%n+n)%n] }
	wibble := 100.0
	for step := n; step >= 2; step /= 2 {
		half := step / 2
		k := n / step
		// squares: centre = mean of the four corners + noise
		u := r.uniform(k*k, -wibble, wibble)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				y, x := i*step, j*step
				s := (*at(y, x) + *at(y+step, x)) + (*at(y, x+step) + *at(y+step, x+step))
				*at(y+half, x+half) = s/4 + wibble*u[i*k+j]
			}
		}
		// diamonds on the rows of the corners (between two corners of a row)
		u = r.uniform(k*k, -wibble, wibble)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				y, x := i*step, j*step
				ldr := *at(y+half, x+half) + *at(y-half, x+half)
				lul := *at(y, x) + *at(y, x+step)
				*at(y, x+half) = (ldr+lul)/4 + wibble*u[i*k+j]
			}
		}
		// diamonds on the columns of the corners
		u = r.uniform(k*k, -wibble, wibble)
		for i := 0; i < k; i++ {
			for j := 0; j < k; j++ {
				y, x := i*step, j*step
				tdr := *at(y+half, x+half) + *at(y+half, x-half)
				tul := *at(y, x) + *at(y+step, x)
				*at(y+half, x) = (tdr+tul)/4 + wibble*u[i*k+j]
			}
		}
		wibble /= decay
	}
	lo, hi := a[0], a[0]
	for _, v := range a {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i := range a {
		a[i] -= lo
	}
	hi -= lo
	for i := range a {
		a[i] /= hi
	}
	return a
}

// snow adds two copies (one rotated by 180°) of a layer of motion-blurred
// flakes to a brightened, grayed image: the reference's snow.
func snow(m *image, sc Scale, severity int, r source) error {
	c := pick(sc, severity,
		[5][7]float64{{0.1, 0.2, 1, 0.6, 8, 3, 0.95}, {0.1, 0.2, 1, 0.5, 10, 4, 0.9}, {0.15, 0.3, 1.75, 0.55, 10, 4, 0.9},
			{0.25, 0.3, 2.25, 0.6, 12, 6, 0.85}, {0.3, 0.3, 1.25, 0.65, 14, 12, 0.8}},
		[5][7]float64{{0.1, 0.3, 3, 0.5, 10, 4, 0.8}, {0.2, 0.3, 2, 0.5, 12, 4, 0.7}, {0.55, 0.3, 4, 0.9, 12, 8, 0.7},
			{0.55, 0.3, 4.5, 0.85, 12, 8, 0.65}, {0.55, 0.3, 2.5, 0.85, 12, 12, 0.55}})
	h, w, n := m.h, m.w, m.h*m.w
	layer := clippedZoom(nil, r.normal(n, c[0], c[1]), h, w, c[2])
	for i, v := range layer {
		if v < c[3] {
			v = 0
		}
		// the reference makes an 8-bit image of the layer (astype truncates)
		layer[i] = math.Trunc(clip01(v)*255) / 255
	}
	layer = motionBlurPlane(layer, h, w, c[4], c[5], r.uniform(1, -135, -45)[0])
	// float32 like the reference: c₆·x + (1−c₆)·max(x, 1.5·gray(x) + 0.5)
	a, b := float32(c[6]), float32(1-c[6])
	gray := make([]float32, n)
	for i := range gray {
		if m.c == 3 {
			gray[i] = 0.299*float32(m.pix[i]) + 0.587*float32(m.pix[n+i]) + 0.114*float32(m.pix[2*n+i])
		} else {
			gray[i] = float32(m.pix[i])
		}
	}
	for ch := 0; ch < m.c; ch++ {
		pl := m.plane(ch)
		for i := range pl {
			x := float32(pl[i])
			v := a*x + b*max(x, gray[i]*1.5+0.5)
			pl[i] = clip01(float64(v) + layer[i] + layer[n-1-i])
		}
	}
	return nil
}
