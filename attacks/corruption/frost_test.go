package corruption

import (
	"math"
	"testing"
)

// TestFrostTextureStatistics checks that each procedural texture has the
// per-channel mean and deviation of the photograph it stands in for.
func TestFrostTextureStatistics(t *testing.T) {
	const n = 200
	for idx, st := range frostStats {
		var s, s2 [3]float64
		for y := 0; y < n; y++ {
			for x := 0; x < n; x++ {
				// an area the moments were not measured on
				tx := frostTexture(idx, 1000+float64(x)*0.21, 500+float64(y)*0.21)
				for ch, v := range tx {
					if v < 0 || v > 1 {
						t.Fatalf("texture %d: value %g outside [0, 1]", idx, v)
					}
					s[ch] += v
					s2[ch] += v * v
				}
			}
		}
		for ch := range s {
			mean := s[ch] / (n * n)
			sd := math.Sqrt(s2[ch]/(n*n) - mean*mean)
			if !near(mean, st[0][ch], 0.02) || !near(sd, st[1][ch], 0.25*st[1][ch]) {
				t.Errorf("texture %d channel %d: mean %.3f sd %.3f, want %.3f, %.3f", idx, ch, mean, sd, st[0][ch], st[1][ch])
			}
		}
	}
}

// TestFrostBlend checks clip(a·x + b·t) with the reference's weights on a
// flat image, with the draws replayed.
func TestFrostBlend(t *testing.T) {
	const h, w = 32, 32
	for sev, ab := range [5][2]float64{{1, 0.2}, {1, 0.3}, {0.9, 0.4}, {0.85, 0.4}, {0.75, 0.45}} {
		m := newImage(3, h, w)
		for i := range m.pix {
			m.pix[i] = 0.25
		}
		if err := frost(m, CIFAR, sev+1, &testSource{seed: 9}); err != nil {
			t.Fatal(err)
		}
		r := &testSource{seed: 9}
		idx := r.randint(1, 0, 5)[0]
		off := r.randint(2, 0, 1<<12)
		wl := 48 * 0.2
		for y := 0; y < h; y += 7 {
			for x := 0; x < w; x += 5 {
				tx := frostTexture(idx, float64(x+off[0])/wl, float64(y+off[1])/wl)
				for ch := 0; ch < 3; ch++ {
					want := clip01(ab[0]*0.25 + ab[1]*tx[ch])
					if got := m.plane(ch)[y*w+x]; !near(got, want, 1e-12) {
						t.Fatalf("severity %d channel %d at (%d, %d): %g, want %g", sev+1, ch, y, x, got, want)
					}
				}
			}
		}
	}
}
