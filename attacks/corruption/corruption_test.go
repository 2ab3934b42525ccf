package corruption

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// testImage returns a C×H×W image in [lo, hi] with smooth structure and
// a black and a white pixel.
func testImage(c, h, w int, lo, hi float32) []float32 {
	img := make([]float32, c*h*w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				u := 0.5 + 0.45*math.Sin(float64(x)*0.3+float64(ch))*math.Cos(float64(y)*0.2)
				img[(ch*h+y)*w+x] = lo + (hi-lo)*float32(u)
			}
		}
	}
	for ch := 0; ch < c; ch++ {
		img[ch*h*w] = lo
		img[ch*h*w+1] = hi
	}
	return img
}

func TestNamesAndMissing(t *testing.T) {
	names := Names()
	if len(names)+len(Missing()) != len(Benchmark) {
		t.Fatalf("Names %v + Missing %v != the %d of the benchmark", names, Missing(), len(Benchmark))
	}
	for _, n := range names {
		if !slices.Contains(Benchmark, n) {
			t.Errorf("%q is not a benchmark corruption", n)
		}
	}
	// Names keeps the benchmark's order.
	last := -1
	for _, n := range names {
		i := slices.Index(Benchmark, n)
		if i < last {
			t.Errorf("%q out of the benchmark's order", n)
		}
		last = i
	}
}

func TestScaleOf(t *testing.T) {
	for _, tc := range []struct {
		h, w      int
		scale     Scale
		published bool
	}{
		{32, 32, CIFAR, true}, {28, 28, CIFAR, false}, {64, 64, CIFAR, false}, {127, 300, CIFAR, false},
		{224, 224, ImageNet, true}, {128, 128, ImageNet, false}, {299, 299, ImageNet, false},
	} {
		s, p, err := ScaleOf(tc.h, tc.w)
		if err != nil || s != tc.scale || p != tc.published {
			t.Errorf("ScaleOf(%d, %d) = %v, %v, %v; want %v, %v", tc.h, tc.w, s, p, err, tc.scale, tc.published)
		}
	}
	if _, _, err := ScaleOf(7, 32); !errors.Is(err, ErrShape) {
		t.Errorf("ScaleOf(7, 32): %v, want ErrShape", err)
	}
}

func TestBadInput(t *testing.T) {
	img := testImage(3, 32, 32, 0, 1)
	for _, tc := range []struct {
		name     string
		sev      int
		img      []float32
		c, h, w  int
		cfg      Config
		want     error
		wantText string
	}{
		{"fog_of_war", 1, img, 3, 32, 32, Config{}, ErrUnknown, `corruption: unknown corruption "fog_of_war" (known: gaussian_noise`},
		{"gaussian_noise", 0, img, 3, 32, 32, Config{}, ErrSeverity, "corruption: severity must be 1..5, got 0"},
		{"gaussian_noise", 6, img, 3, 32, 32, Config{}, ErrSeverity, "corruption: severity must be 1..5, got 6"},
		{"gaussian_noise", 1, img, 3, 32, 31, Config{}, ErrShape, "corruption: bad image shape: 3072 values for 3×32×31"},
		{"gaussian_noise", 1, img[:1024], 2, 16, 32, Config{}, ErrShape, "corruption: bad image shape: 2 channels, want 1 (gray) or 3 (RGB)"},
		{"gaussian_noise", 1, img[:48], 3, 4, 4, Config{}, ErrShape, "corruption: bad image shape: 4×4 is smaller than 8×8"},
		{"gaussian_noise", 1, img, 3, 32, 32, Config{Lo: 1, Hi: 1}, ErrBounds, "corruption: bad bounds: [1, 1]"},
	} {
		_, err := Apply(tc.name, tc.sev, tc.img, tc.c, tc.h, tc.w, tc.cfg, 0)
		if !errors.Is(err, tc.want) {
			t.Errorf("Apply(%q, %d, %d×%d×%d): %v, want %v", tc.name, tc.sev, tc.c, tc.h, tc.w, err, tc.want)
			continue
		}
		if got := err.Error(); len(got) < len(tc.wantText) || got[:len(tc.wantText)] != tc.wantText {
			t.Errorf("error %q, want it to start with %q", got, tc.wantText)
		}
	}
	if _, err := ApplyBatch(nil, "contrast", 1, img, 2, 3, 32, 32, Config{}, 0); !errors.Is(err, ErrShape) {
		t.Errorf("ApplyBatch with too few values: %v, want ErrShape", err)
	}
}

// TestEveryCorruption runs every corruption at every severity on gray and
// RGB images at both scales and checks shape, bounds, that the image changed,
// and determinism.
func TestEveryCorruption(t *testing.T) {
	for _, name := range Names() {
		for _, sh := range [][3]int{{1, 28, 28}, {3, 32, 32}, {3, 224, 224}} {
			c, h, w := sh[0], sh[1], sh[2]
			for _, b := range [][2]float32{{0, 1}, {-1, 2}} {
				if h == 224 && b[0] != 0 {
					continue // the bounds' mapping is the same at every size
				}
				img := testImage(c, h, w, b[0], b[1])
				cfg := Config{Lo: b[0], Hi: b[1], Seed: 7}
				for sev := 1; sev <= 5; sev++ {
					out, err := Apply(name, sev, img, c, h, w, cfg, 3)
					if err != nil {
						t.Fatalf("%s/%d %v: %v", name, sev, sh, err)
					}
					if len(out) != len(img) {
						t.Fatalf("%s/%d %v: %d values, want %d", name, sev, sh, len(out), len(img))
					}
					changed := false
					for i, v := range out {
						if !(v >= b[0] && v <= b[1]) {
							t.Fatalf("%s/%d %v: value %g at %d outside [%g, %g]", name, sev, sh, v, i, b[0], b[1])
						}
						if math.Abs(float64(v-img[i])) > 1e-3 {
							changed = true
						}
					}
					if !changed {
						t.Errorf("%s/%d %v: image unchanged", name, sev, sh)
					}
					again, _ := Apply(name, sev, img, c, h, w, cfg, 3)
					if !slices.Equal(out, again) {
						t.Errorf("%s/%d %v: not deterministic", name, sev, sh)
					}
				}
			}
		}
	}
}

// TestBatchIndependence checks that a sample's corruption depends on its
// global index and the seed, not on its batch.
func TestBatchIndependence(t *testing.T) {
	const n, c, h, w = 4, 3, 32, 32
	x := make([]float32, 0, n*c*h*w)
	for i := 0; i < n; i++ {
		x = append(x, testImage(c, h, w, 0, 1)...)
	}
	size := c * h * w
	for _, name := range Names() {
		cfg := Config{Seed: 11}
		all, err := ApplyBatch(nil, name, 3, x, n, c, h, w, cfg, 10)
		if err != nil {
			t.Fatal(err)
		}
		// The last two samples alone, as a second shard would see them.
		part, err := ApplyBatch(nil, name, 3, x[2*size:], 2, c, h, w, cfg, 12)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(all[2*size:], part) {
			t.Errorf("%s: samples 12, 13 differ between a batch of 4 and a batch of 2", name)
		}
		one, _ := Apply(name, 3, x[:size], c, h, w, cfg, 10)
		if !slices.Equal(all[:size], one) {
			t.Errorf("%s: sample 10 differs between ApplyBatch and Apply", name)
		}
		random := !slices.Equal(all[:size], all[size:2*size])
		other, _ := Apply(name, 3, x[:size], c, h, w, Config{Seed: 12}, 10)
		if random && slices.Equal(one, other) {
			t.Errorf("%s: seed 11 and seed 12 give the same image", name)
		}
	}
}

func TestPoissonMoments(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, lam := range []float64{0.3, 3, 9.9, 10, 25, 60, 500} {
		const n = 200000
		var s, s2 float64
		for i := 0; i < n; i++ {
			k := float64(poisson(r, lam))
			s += k
			s2 += k * k
		}
		mean := s / n
		vr := s2/n - mean*mean
		// mean ± 5 standard errors; the variance within 3 %.
		if math.Abs(mean-lam) > 5*math.Sqrt(lam/n) || math.Abs(vr/lam-1) > 0.03 {
			t.Errorf("Poisson(%g): mean %g, variance %g", lam, mean, vr)
		}
	}
	// P(k = 0) for small rates, exactly e^-λ.
	const n = 200000
	zeros := 0
	for i := 0; i < n; i++ {
		if poisson(r, 2) == 0 {
			zeros++
		}
	}
	if p := float64(zeros) / n; math.Abs(p-math.Exp(-2)) > 5*math.Sqrt(math.Exp(-2)/n) {
		t.Errorf("P(k=0 | λ=2) = %g, want %g", p, math.Exp(-2))
	}
}

// TestConcurrent corrupts the same samples from several goroutines.
func TestConcurrent(t *testing.T) {
	img := testImage(3, 32, 32, 0, 1)
	names := Names()
	want := make([][]float32, len(names))
	for i, name := range names {
		want[i], _ = Apply(name, 4, img, 3, 32, 32, Config{Seed: 5}, i)
	}
	errs := make(chan string, 4*len(names))
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := len(names) - 1; i >= 0; i-- {
				got, err := Apply(names[i], 4, img, 3, 32, 32, Config{Seed: 5}, i)
				if err != nil || !slices.Equal(got, want[i]) {
					errs <- names[i]
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	close(errs)
	for n := range errs {
		t.Errorf("%s: differs when run concurrently", n)
	}
}

// TestOddSizes runs every corruption on non-square and small images, where
// the size-dependent parts (crops, loops, the fractal's side) follow the
// actual size.
func TestOddSizes(t *testing.T) {
	for _, sh := range [][3]int{{3, 8, 13}, {1, 40, 17}, {3, 9, 9}, {1, 130, 150}} {
		c, h, w := sh[0], sh[1], sh[2]
		img := testImage(c, h, w, 0, 1)
		for _, name := range Names() {
			for _, sev := range []int{1, 5} {
				out, err := Apply(name, sev, img, c, h, w, Config{Seed: 2}, 0)
				if err != nil {
					t.Fatalf("%s/%d %v: %v", name, sev, sh, err)
				}
				for _, v := range out {
					if !(v >= 0 && v <= 1) {
						t.Fatalf("%s/%d %v: value %g outside [0, 1]", name, sev, sh, v)
					}
				}
			}
		}
	}
}

// FuzzApply checks that no input shape, value or bound makes a corruption
// panic or leave the bounds.
func FuzzApply(f *testing.F) {
	f.Add(uint8(0), uint8(1), uint8(3), uint8(8), uint8(8), float32(0), float32(1), []byte{0, 255, 7})
	f.Add(uint8(7), uint8(5), uint8(1), uint8(9), uint8(20), float32(-2), float32(2), []byte{200})
	f.Add(uint8(12), uint8(3), uint8(3), uint8(33), uint8(10), float32(0), float32(255), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, ni, sev, c, h, w uint8, lo, hi float32, data []byte) {
		names := Names()
		name := names[int(ni)%len(names)]
		ch, hh, ww := int(c%4), int(h%40), int(w%40)
		img := make([]float32, ch*hh*ww)
		for i := range img {
			b := byte(i)
			if len(data) > 0 {
				b = data[i%len(data)]
			}
			img[i] = lo + (hi-lo)*float32(b)/255
		}
		out, err := Apply(name, int(sev%7), img, ch, hh, ww, Config{Lo: lo, Hi: hi, Seed: 1}, 0)
		if err != nil {
			return
		}
		if lo == 0 && hi == 0 {
			hi = 1 // Config's default
		}
		for _, v := range out {
			if !(v >= lo && v <= hi) {
				t.Fatalf("%s: %g outside [%g, %g]", name, v, lo, hi)
			}
		}
	})
}
