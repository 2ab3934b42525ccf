package corruption

// The noise corruptions: one independent draw per value (per pixel and
// channel; a gray image has one channel, so one draw per pixel).

// gaussianNoise adds N(0, σ²): clip(x + σ·z).
func gaussianNoise(m *image, sc Scale, severity int, r source) error {
	sigma := pick(sc, severity,
		[5]float64{0.04, 0.06, 0.08, 0.09, 0.10},
		[5]float64{0.08, 0.12, 0.18, 0.26, 0.38})
	z := r.normal(len(m.pix), 0, sigma)
	for ch := 0; ch < m.c; ch++ {
		p := m.plane(ch)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				i := y*m.w + x
				p[i] = clip01(p[i] + z[m.hwc(ch, y, x)])
			}
		}
	}
	return nil
}

// shotNoise replaces x by Poisson(λ·x)/λ, clipped: photon noise of an image
// that collected λ photons at full intensity.
func shotNoise(m *image, sc Scale, severity int, r source) error {
	lam := pick(sc, severity,
		[5]float64{500, 250, 100, 75, 50},
		[5]float64{60, 25, 12, 5, 3})
	rates := make([]float64, len(m.pix))
	for ch := 0; ch < m.c; ch++ {
		p := m.plane(ch)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				rates[m.hwc(ch, y, x)] = p[y*m.w+x] * lam
			}
		}
	}
	k := r.poisson(rates)
	for ch := 0; ch < m.c; ch++ {
		p := m.plane(ch)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				p[y*m.w+x] = clip01(k[m.hwc(ch, y, x)] / lam)
			}
		}
	}
	return nil
}

// impulseNoise is salt-and-pepper noise as skimage.util.random_noise(mode=
// "s&p") makes it: each value is hit with probability a (u ≤ a) and a hit
// becomes 1 or 0 with equal probability (v ≤ 0.5 → 1).
func impulseNoise(m *image, sc Scale, severity int, r source) error {
	amount := pick(sc, severity,
		[5]float64{0.01, 0.02, 0.03, 0.05, 0.07},
		[5]float64{0.03, 0.06, 0.09, 0.17, 0.27})
	n := len(m.pix)
	hit := r.random(n)
	salt := r.random(n)
	for ch := 0; ch < m.c; ch++ {
		p := m.plane(ch)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				j := m.hwc(ch, y, x)
				if hit[j] <= amount {
					if salt[j] <= 0.5 {
						p[y*m.w+x] = 1
					} else {
						p[y*m.w+x] = 0
					}
				}
			}
		}
	}
	return nil
}

// pick returns the severity's parameter of the scale's set.
func pick[T any](sc Scale, severity int, cifar, imagenet [5]T) T {
	if sc == CIFAR {
		return cifar[severity-1]
	}
	return imagenet[severity-1]
}
