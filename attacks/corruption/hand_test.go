package corruption

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Hand-derived cases of the deterministic corruptions.

func TestBrightnessByHand(t *testing.T) {
	// One RGB pixel (0.2, 0.4, 0.1) and a black one; CIFAR severity 1 adds
	// 0.05 to V = 0.4 → 0.45, so RGB scales by 0.45/0.4; black becomes gray
	// 0.05. ImageNet severity 5 adds 0.5: V = 0.9, black becomes gray 0.5.
	for _, tc := range []struct {
		sc   Scale
		sev  int
		want [6]float64
	}{
		{CIFAR, 1, [6]float64{0.225, 0.05, 0.45, 0.05, 0.1125, 0.05}},
		{ImageNet, 5, [6]float64{0.45, 0.5, 0.9, 0.5, 0.225, 0.5}},
	} {
		m := &image{c: 3, h: 1, w: 2, pix: []float64{0.2, 0, 0.4, 0, 0.1, 0}}
		brightness(m, tc.sc, tc.sev, nil)
		for i, v := range m.pix {
			if !near(v, tc.want[i], 1e-15) {
				t.Errorf("%s/%d: pix %v, want %v", tc.sc, tc.sev, m.pix, tc.want)
				break
			}
		}
	}
	// Gray: V is the value.
	m := &image{c: 1, h: 1, w: 3, pix: []float64{0, 0.5, 0.98}}
	brightness(m, CIFAR, 3, nil)
	if want := []float64{0.15, 0.65, 1}; !near(m.pix[0], want[0], 1e-15) || !near(m.pix[1], want[1], 1e-15) || m.pix[2] != 1 {
		t.Errorf("gray: %v, want %v", m.pix, want)
	}
}

func TestContrastByHand(t *testing.T) {
	// Channel means 0.5 and 0.25; CIFAR severity 2 halves the distance.
	m := &image{c: 2, h: 1, w: 2, pix: []float64{0.2, 0.8, 0, 0.5}}
	contrast(m, CIFAR, 2, nil)
	want := []float64{0.35, 0.65, 0.125, 0.375}
	for i := range want {
		if !near(m.pix[i], want[i], 1e-15) {
			t.Fatalf("contrast: %v, want %v", m.pix, want)
		}
	}
}

func TestBoxCoeffsByHand(t *testing.T) {
	// 32 → 30 (CIFAR pixelate severity 1): scale 16/15; output pixel k has
	// centre (k+½)·16/15 and averages the inputs whose centres lie within
	// ½·16/15 of it.
	got := boxCoeffs(32, 30)
	for k, s := range got {
		center := (float64(k) + 0.5) * 32 / 30
		for x := 0; x < 32; x++ {
			in := math.Abs(float64(x)+0.5-center) <= 0.5*32/30 && float64(x)+0.5-center < 0.5*32/30
			if in != (x >= s.lo && x < s.hi) {
				t.Fatalf("boxCoeffs(32, 30)[%d] = %v; input %d should be in: %v", k, s, x, in)
			}
		}
	}
	// 30 → 32 upsamples: every output takes exactly one input, the one
	// under its centre.
	for k, s := range boxCoeffs(30, 32) {
		if want := int((float64(k) + 0.5) * 30 / 32); s.hi-s.lo != 1 || s.lo != want {
			t.Errorf("boxCoeffs(30, 32)[%d] = %v, want [%d, %d)", k, s, want, want+1)
		}
	}
}

// TestNoiseStatistics checks the distribution of the noise corruptions on
// a flat gray image, where clipping does not act.
func TestNoiseStatistics(t *testing.T) {
	const n = 224
	img := make([]float32, 3*n*n)
	for i := range img {
		img[i] = 0.5
	}
	cfg := Config{Seed: 3}
	out, err := Apply("gaussian_noise", 2, img, 3, n, n, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	var s, s2 float64
	for _, v := range out {
		d := float64(v) - 0.5
		s += d
		s2 += d * d
	}
	m := float64(len(out))
	if sd := math.Sqrt(s2/m - (s/m)*(s/m)); !near(sd, 0.12, 0.12*0.02) || math.Abs(s/m) > 5*0.12/math.Sqrt(m) {
		t.Errorf("gaussian_noise ImageNet/2: mean %g, sd %g, want 0, 0.12", s/m, sd)
	}

	out, _ = Apply("shot_noise", 4, img, 3, n, n, cfg, 0)
	// k/λ with k ~ Poisson(λ·0.5), λ = 5: mean 0.5, variance 0.5/λ = 0.1.
	s, s2 = 0, 0
	for _, v := range out {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	// clipping at 1 cuts k > 5; compare with the clipped law's moments.
	var em, em2 float64
	for k, p := 0, math.Exp(-2.5); k < 60; k++ {
		v := min(float64(k)/5, 1)
		em += p * v
		em2 += p * v * v
		p *= 2.5 / float64(k+1)
	}
	if !near(s/m, em, 0.003) || !near(s2/m, em2, 0.003) {
		t.Errorf("shot_noise ImageNet/4: E %g, E² %g, want %g, %g", s/m, s2/m, em, em2)
	}

	out, _ = Apply("impulse_noise", 5, img, 3, n, n, cfg, 0)
	var salt, pepper int
	for _, v := range out {
		switch v {
		case 1:
			salt++
		case 0:
			pepper++
		case 0.5:
		default:
			t.Fatalf("impulse_noise: value %g is not 0, ½ or 1", v)
		}
	}
	// amount 0.27, half of it each way.
	if se := math.Sqrt(0.135 * 0.865 / m); !near(float64(salt)/m, 0.135, 5*se) || !near(float64(pepper)/m, 0.135, 5*se) {
		t.Errorf("impulse_noise ImageNet/5: salt %g, pepper %g, want 0.135 each", float64(salt)/m, float64(pepper)/m)
	}
}
