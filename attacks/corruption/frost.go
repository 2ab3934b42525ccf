package corruption

import (
	"math"
	"sync"
)

// frost blends the image with a frost texture: clip(a·x + b·t). The
// reference blends with crops of six photographs of frost (frost1–6, of
// unclear licence) of which it draws among the first five; advcheck does
// not ship them and uses five procedural textures instead (frostTexture),
// with the reference's blend weights and each texture's per-channel mean
// and standard deviation set to those of the corresponding photograph (at
// the CIFAR scale, downsized by 0.2 as the reference does).
func frost(m *image, sc Scale, severity int, r source) error {
	c := pick(sc, severity,
		[5][2]float64{{1, 0.2}, {1, 0.3}, {0.9, 0.4}, {0.85, 0.4}, {0.75, 0.45}},
		[5][2]float64{{1, 0.4}, {0.8, 0.6}, {0.7, 0.7}, {0.65, 0.7}, {0.6, 0.75}})
	idx := r.randint(1, 0, len(frostStats))[0]
	off := r.randint(2, 0, 1<<12)
	// Feature size follows the image: the reference crops 224 px from
	// photographs of 315–600 px at ImageNet scale and 32 px from the same
	// photographs downsized by 0.2 at CIFAR scale.
	wavelength := 48 * float64(min(m.h, m.w)) / 224
	if sc == CIFAR {
		wavelength = 48 * 0.2 * float64(min(m.h, m.w)) / 32
	}
	n := m.h * m.w
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			t := frostTexture(idx, float64(x+off[0])/wavelength, float64(y+off[1])/wavelength)
			i := y*m.w + x
			if m.c == 1 {
				g := 0.299*t[0] + 0.587*t[1] + 0.114*t[2]
				m.pix[i] = clip01(c[0]*m.pix[i] + c[1]*g)
				continue
			}
			for ch := 0; ch < 3; ch++ {
				m.pix[ch*n+i] = clip01(c[0]*m.pix[ch*n+i] + c[1]*t[ch])
			}
		}
	}
	return nil
}

// frostStats are the per-channel mean and standard deviation (RGB, in
// [0, 1]) of the reference's frost1–frost5 photographs.
var frostStats = [5][2][3]float64{
	{{0.305, 0.585, 0.650}, {0.106, 0.065, 0.060}},
	{{0.787, 0.805, 0.841}, {0.084, 0.087, 0.089}},
	{{0.787, 0.805, 0.841}, {0.084, 0.087, 0.089}},
	{{0.540, 0.599, 0.648}, {0.112, 0.112, 0.117}},
	{{0.441, 0.484, 0.528}, {0.174, 0.170, 0.163}},
}

// frostTexture is texture idx at (u, v) (in wavelengths): ridged fractal
// gradient noise, whose sharp ridges look like ice veins, standardised and
// mapped to the texture's per-channel mean and deviation, in [0, 1].
func frostTexture(idx int, u, v float64) [3]float64 {
	mom := ridgedMoments()[idx]
	z := (ridged(uint64(idx), u, v) - mom[0]) / mom[1]
	st := frostStats[idx]
	var t [3]float64
	for ch := range t {
		t[ch] = clip01(st[0][ch] + st[1][ch]*z)
	}
	return t
}

const frostOctaves = 5

// ridged is a ridged multifractal: Σ 2⁻ᵒ·(1 − |noise(2ᵒ·p)|)².
func ridged(seed uint64, u, v float64) float64 {
	s, amp, f := 0.0, 1.0, 1.0
	for o := 0; o < frostOctaves; o++ {
		r := 1 - math.Abs(gradientNoise(seed*0x9E3779B97F4A7C15+uint64(o)+1, u*f, v*f))
		s += amp * r * r
		amp *= 0.5
		f *= 2.03 // not 2, so octaves' lattices do not align
	}
	return s
}

// ridgedMoments are the mean and standard deviation of each texture's
// ridged noise, measured on a 256×256 grid the first time they are needed.
var ridgedMoments = sync.OnceValue(func() [5][2]float64 {
	var m [5][2]float64
	var wg sync.WaitGroup
	for idx := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s, s2 float64
			const n = 256
			for y := 0; y < n; y++ {
				for x := 0; x < n; x++ {
					v := ridged(uint64(idx), float64(x)*0.173, float64(y)*0.173)
					s += v
					s2 += v * v
				}
			}
			mean := s / (n * n)
			m[idx] = [2]float64{mean, math.Sqrt(s2/(n*n) - mean*mean)}
		}()
	}
	wg.Wait()
	return m
})

// gradientNoise is Perlin's gradient noise with hashed unit gradients,
// roughly in [−0.7, 0.7].
func gradientNoise(seed uint64, u, v float64) float64 {
	i0, j0 := math.Floor(u), math.Floor(v)
	fu, fv := u-i0, v-j0
	i, j := int64(i0), int64(j0)
	dot := func(di, dj int64, du, dv float64) float64 {
		g := gradients[splitmix(seed^splitmix(uint64(i+di)*0xD6E8FEB86659FD93^uint64(j+dj)))>>56]
		return g[0]*du + g[1]*dv
	}
	fade := func(t float64) float64 { return t * t * t * (t*(t*6-15) + 10) }
	a, b := fade(fu), fade(fv)
	n00 := dot(0, 0, fu, fv)
	n10 := dot(1, 0, fu-1, fv)
	n01 := dot(0, 1, fu, fv-1)
	n11 := dot(1, 1, fu-1, fv-1)
	return (n00*(1-a)+n10*a)*(1-b) + (n01*(1-a)+n11*a)*b
}

// gradients are 256 unit vectors at evenly spaced angles.
var gradients = func() (g [256][2]float64) {
	for i := range g {
		a := (float64(i) + 0.5) * 2 * math.Pi / 256
		g[i] = [2]float64{math.Cos(a), math.Sin(a)}
	}
	return g
}()

func splitmix(z uint64) uint64 {
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
