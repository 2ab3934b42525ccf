package reports

import (
	"strings"
	"testing"

	"github.com/advcheck/advcheck/attacks"
)

// Eps specifications that are mistakes are refused with a message naming
// the part at fault; none is dropped or shortened silently.
func TestParseEpsRefuses(t *testing.T) {
	for _, c := range []struct{ spec, say string }{
		// A step so small that the value count overflowed int once wrapped
		// to a negative count and the range vanished from the sweep.
		{"0.1,0:1:1e-300", `eps range "0:1:1e-300" has 1e+300 values; at most 1000`},
		{"0:1:0.0001", `eps range "0:1:0.0001" has 1e+04 values; at most 1000`},
		{"0:1:0", "STEP > 0"},
		{"0:1:-0.1", "STEP > 0"},
		{"1:0:0.1", "START ≤ STOP"},
		{"0:nan:0.1", "not a number"},
		{"0:inf:0.1", "not a number"},
		{"-0.1", "negative"},
		{"-1:1:0.5", "negative"},
		{"nan/1", "not a number or fraction"},
		{"1e308/1e-308", "not a number or fraction"},
		{"0:0.999:0.001,1:1.5:0.001", "at most 1000"},
	} {
		_, err := ParseEps(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.say) {
			t.Errorf("ParseEps(%q): %v; want an error saying %q", c.spec, err, c.say)
		}
	}
	// L1 radii are named: an unnamed list is L∞ and L2 only.
	if g, err := ParseEps("0,0.1"); err != nil || len(g[attacks.L1]) != 0 || len(g[attacks.L2]) != 2 {
		t.Errorf("unnamed list: %v (%v)", g, err)
	}
	if g, err := ParseEps("linf=0,0.1 l1=10,0,5"); err != nil || len(g[attacks.L1]) != 3 || g[attacks.L1][2].Value != 10 || g[attacks.L1][0].Norm != attacks.L1 {
		t.Errorf("l1=10,0,5: %v (%v)", g, err)
	}
	if _, err := ParseEps("l3=0,1"); err == nil || !strings.Contains(err.Error(), "want linf, l2 or l1") {
		t.Errorf("l3=: %v", err)
	}
	// The largest range allowed still parses in full.
	g, err := ParseEps("0:0.999:0.001")
	if err != nil || len(g[attacks.Linf]) != 1000 {
		t.Errorf("1000-value range: %d values, %v", len(g[attacks.Linf]), err)
	}
}

// The default grid follows the data: MNIST-scale for one channel, CIFAR-scale
// for small RGB, ImageNet-scale for RGB of 64 px or more, each scaled to the
// bounds; ImageNet radii equal the same radii given as fractions.
func TestDefaultEpsFor(t *testing.T) {
	values := func(g EpsGrid, n attacks.Norm) []float64 {
		var out []float64
		for _, e := range g[n] {
			out = append(out, e.Value)
		}
		return out
	}
	same := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for _, c := range []struct {
		shape        []int
		lo, hi       float64
		linf, l2, l1 []float64
		noteSays     string
	}{
		{[]int{1, 28, 28}, 0, 1, []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3}, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3}, []float64{0, 2.5, 5, 7.5, 10, 12.5, 15}, "1-channel 28×28 input: MNIST-scale grid (L∞ 0…0.3, L2 0…3, L1 0…15)"},
		{[]int{784}, 0, 1, []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3}, []float64{0, 0.5, 1, 1.5, 2, 2.5, 3}, []float64{0, 2.5, 5, 7.5, 10, 12.5, 15}, "not an image"},
		{[]int{3, 32, 32}, 0, 1, []float64{0, 2.0 / 255, 4.0 / 255, 8.0 / 255, 16.0 / 255}, []float64{0, 0.125, 0.25, 0.5, 1}, []float64{0, 3, 6, 12, 24}, "rgb-32 (3×32×32, < 64 px): CIFAR-scale grid (L∞ 0…16/255, L2 0…1, L1 0…24)"},
		{[]int{3, 224, 224}, 0, 1, []float64{0, 1.0 / 255, 2.0 / 255, 4.0 / 255, 8.0 / 255}, []float64{0, 0.25, 0.5, 1, 2}, []float64{0, 15, 30, 60, 120}, "rgb-224 (3×224×224, ≥ 64 px): ImageNet-scale"},
		{[]int{3, 224, 224}, 0, 255, []float64{0, 1, 2, 4, 8}, []float64{0, 63.75, 127.5, 255, 510}, []float64{0, 3825, 7650, 15300, 30600}, "×255 for bounds [0, 255]"},
		{[]int{3, 64, 96}, -1, 1, []float64{0, 2.0 / 255, 4.0 / 255, 8.0 / 255, 16.0 / 255}, []float64{0, 0.5, 1, 2, 4}, []float64{0, 30, 60, 120, 240}, "ImageNet-scale"},
	} {
		g, note := DefaultEpsFor(c.shape, c.lo, c.hi)
		if !same(values(g, attacks.Linf), c.linf) || !same(values(g, attacks.L2), c.l2) || !same(values(g, attacks.L1), c.l1) {
			t.Errorf("%v in [%v, %v]: linf %v l2 %v l1 %v; want %v, %v and %v", c.shape, c.lo, c.hi, values(g, attacks.Linf), values(g, attacks.L2), values(g, attacks.L1), c.linf, c.l2, c.l1)
		}
		if !strings.Contains(note, c.noteSays) {
			t.Errorf("%v: note %q does not say %q", c.shape, note, c.noteSays)
		}
	}
	// A default ImageNet radius is the value --eps 1/255 gives, bit for bit.
	g, _ := DefaultEpsFor([]int{3, 224, 224}, 0, 1)
	p, _ := ParseEps("1/255,8/255")
	if g[attacks.Linf][1].Value != p[attacks.Linf][0].Value || g[attacks.Linf][4].Value != p[attacks.Linf][1].Value {
		t.Error("default ImageNet radii differ from the same fractions given with --eps")
	}
	if g[attacks.Linf][1].Requested != "1/255" {
		t.Errorf("requested %q, want 1/255", g[attacks.Linf][1].Requested)
	}
}
