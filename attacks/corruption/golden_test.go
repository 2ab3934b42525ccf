package corruption

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"testing"
)

// testSource is the counter-based stream testdata/ref_corruptions.py
// substitutes for numpy's random functions in the reference code: draw k is
// splitmix64(seed + k·0x9E3779B97F4A7C15), normals are Box-Muller from two
// uniforms, Poisson draws by inversion, integers floor(lo + u·(hi−lo)).
type testSource struct {
	seed, k uint64
}

func (s *testSource) next() float64 {
	s.k++
	z := s.seed + s.k*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return float64(z>>11) * 0x1p-53
}

func (s *testSource) normal(n int, loc, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		u1, u2 := s.next(), s.next()
		out[i] = loc + scale*(math.Sqrt(-2*math.Log1p(-u1))*math.Cos(2*math.Pi*u2))
	}
	return out
}

func (s *testSource) uniform(n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*s.next()
	}
	return out
}

func (s *testSource) randint(n int, lo, hi int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = int(math.Floor(float64(lo) + s.next()*float64(hi-lo)))
	}
	return out
}

func (s *testSource) random(n int) []float64 { return s.uniform(n, 0, 1) }

func (s *testSource) poisson(lam []float64) []float64 {
	out := make([]float64, len(lam))
	for j, l := range lam {
		u := s.next()
		p := math.Exp(-l)
		f := p
		k := 0
		for u > f {
			k++
			p = p * l / float64(k)
			f += p
		}
		out[j] = float64(k)
	}
	return out
}

type goldenFile struct {
	Inputs map[Scale]struct {
		File      string
		H, W, C   int
		Positions [][3]int
	}
	Cases []struct {
		Name       string
		Scale      Scale
		Severity   int
		StreamSeed uint64 `json:"stream_seed"`
		At         []float64
		Mean       []float64
	}
}

func loadPNG(t testing.TB, path string) *image {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := im.Bounds()
	m := newImage(3, b.Dy(), b.Dx())
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			r, g, bl, _ := im.At(b.Min.X+x, b.Min.Y+y).RGBA()
			for ch, v := range []uint32{r, g, bl} {
				m.plane(ch)[y*m.w+x] = float64(v>>8) / 255
			}
		}
	}
	return m
}

// goldenTolerance is the largest difference allowed from the reference
// output at a sample position (in [0, 1]), and why.
var goldenTolerance = map[string]float64{
	// PIL's BOX resizes round to 8 bits after each of four passes.
	"pixelate": 1.0/255 + 1e-9,
	// ImageMagick truncates its output to 8 bits (one layer for motion
	// blur, two added for snow).
	"motion_blur": 1.0/255 + 1e-6,
	"snow":        2.0/255 + 1e-6,
	// Go's JPEG codec against libjpeg's (PIL), see docs/corruptions.md.
	"jpeg_compression": 26.0 / 255,
}

// goldenMeanAbs bounds the mean absolute difference from the reference
// where single positions may differ more.
var goldenMeanAbs = map[string]float64{
	"jpeg_compression": 2.0 / 255,
}

// TestGoldenReference compares every implemented corruption, at every
// severity and both scales, with the reference code's output on the same
// image and the same random draws (testdata/ref_corruptions.py).
func TestGoldenReference(t *testing.T) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	inputs := map[Scale]*image{}
	for sc, in := range g.Inputs {
		inputs[sc] = loadPNG(t, "testdata/"+in.File)
	}
	tested := map[string]bool{}
	for _, tc := range g.Cases {
		fn := lookup(tc.Name)
		if fn == nil {
			continue
		}
		tested[tc.Name] = true
		t.Run(fmt.Sprintf("%s/%s/%d", tc.Name, tc.Scale, tc.Severity), func(t *testing.T) {
			src := inputs[tc.Scale]
			m := &image{c: src.c, h: src.h, w: src.w, pix: append([]float64(nil), src.pix...)}
			if err := fn(m, tc.Scale, tc.Severity, &testSource{seed: tc.StreamSeed}); err != nil {
				t.Fatal(err)
			}
			tol := 1e-6
			if v, ok := goldenTolerance[tc.Name]; ok {
				tol = v
			}
			bad, worst, sumAbs := 0, 0.0, 0.0
			for i, p := range g.Inputs[tc.Scale].Positions {
				got := m.plane(p[0])[p[1]*m.w+p[2]]
				worst = max(worst, math.Abs(got-tc.At[i]))
				sumAbs += math.Abs(got - tc.At[i])
				if !near(got, tc.At[i], tol) {
					if bad < 5 {
						t.Errorf("channel %d at (%d, %d): %.6f, reference %.6f", p[0], p[1], p[2], got, tc.At[i])
					}
					bad++
				}
			}
			meanAbs := sumAbs / float64(len(tc.At))
			t.Logf("largest difference %.3g, mean %.3g", worst, meanAbs)
			if lim, ok := goldenMeanAbs[tc.Name]; ok && meanAbs > lim {
				t.Errorf("mean absolute difference %.4f, want ≤ %.4f", meanAbs, lim)
			}
			if bad > 0 {
				t.Errorf("%d of %d positions differ by more than %g", bad, len(tc.At), tol)
			}
			for ch, want := range tc.Mean {
				mean := 0.0
				for _, v := range m.plane(ch) {
					mean += v
				}
				mean /= float64(m.h * m.w)
				if !near(mean, want, tol) {
					t.Errorf("channel %d mean %.7f, reference %.7f", ch, mean, want)
				}
			}
		})
	}
	for _, n := range Names() {
		if !tested[n] && n != "frost" {
			t.Errorf("%s has no golden case", n)
		}
	}
}
