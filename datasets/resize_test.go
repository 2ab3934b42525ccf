package datasets

import (
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

// resizeDir holds the folder and PIL/torchvision goldens of testdata/gen_resize.py.
const resizeDir = "../testdata/resize/"

func readNPZ(t *testing.T, path string) map[string]*npy.Array {
	t.Helper()
	arrs, err := npy.ReadNPZFile(path, npyLimits(DefaultLimits()))
	if err != nil {
		t.Fatal(err)
	}
	return arrs
}

// comparePixels compares pixels in [0, 1] with 8-bit goldens: every pixel
// must be within 1/255 and at least 99 % must be equal after scaling by
// 255 (the bar torchvision parity sets); it returns the exact-match rate.
func comparePixels(t *testing.T, what string, got []float32, want []uint8) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, the golden has %d", what, len(got), len(want))
	}
	exact, off := 0, 0
	for i, v := range got {
		d := int(v*255+0.5) - int(want[i])
		switch {
		case d == 0:
			exact++
		case d < -1 || d > 1:
			off++
			if off <= 5 {
				t.Errorf("%s: value %d is %d/255, PIL's is %d/255", what, i, int(v*255+0.5), want[i])
			}
		}
	}
	rate := float64(exact) / float64(len(got))
	t.Logf("%s: %d of %d values equal to PIL's (%.4f %%), %d off by more than 1/255", what, exact, len(got), 100*rate, off)
	if rate < 0.99 {
		t.Errorf("%s: only %.4f %% of values equal PIL's, want ≥ 99 %%", what, 100*rate)
	}
	return rate
}

// TestResizeCenterCropMatchesTorchvision opens the generated folder of
// varied-size JPEGs and PNGs with --resize 256 --center-crop 224 and
// compares every pixel with torchvision's Resize(256) + CenterCrop(224)
// on PIL images.
func TestResizeCenterCropMatchesTorchvision(t *testing.T) {
	if JPEGDecoder == GoJPEGDecoder {
		t.Skip("needs the libjpeg build tag: Go's JPEG decoder does not decode as PIL does")
	}
	g := readNPZ(t, resizeDir+"golden.npz")
	d, err := Open("folder:"+resizeDir+"imgs", Options{Shape: []int{3, 224, 224}, Preprocess: Preprocess{Resize: 256, CenterCrop: []int{224, 224}}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != g["x"].Shape[0] {
		t.Fatalf("%d images, the golden has %d", d.Len(), g["x"].Shape[0])
	}
	for i, l := range d.Labels {
		if int64(l) != g["y"].I64[i] {
			t.Errorf("label %d is %d, torchvision's ImageFolder gives %d", i, l, g["y"].I64[i])
		}
	}
	size := d.Size()
	for i := range d.Len() {
		comparePixels(t, d.Files[i].Path, sampleOf(t, d, i), g["x"].U8[i*size:(i+1)*size])
	}
	if d.Preprocess == nil || d.Preprocess.Resize != 256 || d.Preprocess.CenterCrop[0] != 224 {
		t.Errorf("Preprocess %+v, want resize 256 and crop 224×224 recorded", d.Preprocess)
	}
}

// TestResizeOnlyMatchesPIL shrinks the same images strongly (shorter side
// to 64, up to 14× smaller) without a crop, so the widened filter and the
// image borders, where PIL cuts and renormalises the filter, are compared too.
func TestResizeOnlyMatchesPIL(t *testing.T) {
	if JPEGDecoder == GoJPEGDecoder {
		t.Skip("needs the libjpeg build tag: Go's JPEG decoder does not decode as PIL does")
	}
	g := readNPZ(t, resizeDir+"resize64.npz")
	sizes, want := g["sizes"].I64, g["x"].U8
	off := 0
	i := 0
	for _, class := range []string{"blue", "red"} { // sorted, as the golden
		ents, err := os.ReadDir(resizeDir + "imgs/" + class)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			path := filepath.Join(resizeDir, "imgs", class, e.Name())
			img, _, err := decodeImage(path, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			b := img.Bounds()
			p := Preprocess{Resize: 64}
			w, h, err := p.size(path, b.Dx(), b.Dy(), 3, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if int64(h) != sizes[2*i] || int64(w) != sizes[2*i+1] {
				t.Fatalf("%s: resized to %d×%d, torchvision gives %d×%d", path, w, h, sizes[2*i+1], sizes[2*i])
			}
			got := appendScaled(nil, p.apply(planes8(img, 3), 3, b.Dx(), b.Dy()))
			comparePixels(t, path, got, want[off:off+3*w*h])
			off += 3 * w * h
			i++
		}
	}
	if off != len(want) {
		t.Errorf("compared %d values of the golden's %d", off, len(want))
	}
}

// TestResizeHandComputed checks the filter on cases small enough to work
// out by hand with PIL's definition.
func TestResizeHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in           []uint8
		w, h, nw, nh int
		want         []uint8
	}{
		// Halving: each output is the triangle of support 2 around the centre
		// of two inputs, weights 1/8, 3/8, 3/8, 1/8 (cut and renormalised at
		// the borders: 3/7, 3/7, 1/7).
		{"halve", []uint8{0, 80, 160, 240}, 4, 1, 2, 1, []uint8{
			57,  // (0·3 + 80·3 + 160·1)/7 = 57.14
			183, // (80·1 + 160·3 + 240·3)/7 = 182.86
		}},
		// Same size: nothing happens.
		{"same", []uint8{1, 2, 3, 4}, 2, 2, 2, 2, []uint8{1, 2, 3, 4}},
		// Doubling: outputs at input positions ±1/4 mix their neighbours 3:1.
		{"double", []uint8{0, 100}, 2, 1, 4, 1, []uint8{0, 25, 75, 100}},
		// Vertical only, one column.
		{"vertical", []uint8{0, 100}, 1, 2, 1, 4, []uint8{0, 25, 75, 100}},
	} {
		got := ResizeBilinear(tc.in, 1, tc.w, tc.h, tc.nw, tc.nh)
		if string(got) != string(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestResizedSizeAndCropOffsets(t *testing.T) {
	for _, tc := range []struct{ w, h, n, nw, nh int }{
		{300, 257, 256, 298, 256}, // int(256·300/257) = int(298.83)
		{231, 640, 256, 256, 709}, // int(709.26)
		{512, 384, 256, 341, 256}, // int(341.33)
		{500, 500, 256, 256, 256},
		{3, 1, 1, 3, 1},
	} {
		if nw, nh := ResizedSize(tc.w, tc.h, tc.n); nw != tc.nw || nh != tc.nh {
			t.Errorf("ResizedSize(%d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.n, nw, nh, tc.nw, tc.nh)
		}
	}
	// Python's round halves to even: round(0.5) = 0, round(1.5) = 2, round(37.5) = 38.
	for _, tc := range []struct{ s, c, off int }{{225, 224, 0}, {227, 224, 2}, {299, 224, 38}, {298, 224, 37}, {256, 224, 16}} {
		if got := CenterCropOffset(tc.s, tc.c); got != tc.off {
			t.Errorf("CenterCropOffset(%d, %d) = %d, want %d", tc.s, tc.c, got, tc.off)
		}
	}
}

// TestPreprocessRefused covers bad sizes (usage errors), a crop larger than
// a resized image and a resize over the limits (bad data naming the image),
// and preprocessing asked of data that are not an image folder.
func TestPreprocessRefused(t *testing.T) {
	folder := "folder:" + resizeDir + "imgs"
	for _, tc := range []struct {
		name, spec string
		p          Preprocess
		lim        Limits
		want       error
		msg        string
	}{
		{"negative resize", folder, Preprocess{Resize: -1}, Limits{}, ErrSpec, "resize -1"},
		{"huge resize", folder, Preprocess{Resize: MaxPreprocessSize + 1}, Limits{}, ErrSpec, "resize 32769"},
		{"zero crop", folder, Preprocess{CenterCrop: []int{0, 5}}, Limits{}, ErrSpec, "center crop 0×5"},
		{"crop too large", folder, Preprocess{Resize: 256, CenterCrop: []int{300, 300}}, Limits{}, ErrBadData, "a_512x384.jpg is 341×256 (512×384 before --resize 256), smaller than the 300×300 centre crop"},
		{"crop without resize too large", folder, Preprocess{CenterCrop: []int{224, 400}}, Limits{}, ErrBadData, "c_257x300.png is 257×300, smaller than the 400×224 centre crop"},
		{"resize over limits", folder, Preprocess{Resize: 30000}, Limits{MaxElements: 1 << 24}, ErrBadData, "a_512x384.jpg: 512×384 resized to 40000×30000 is over the limit"},
		{"not a folder", "mnist-sample", Preprocess{Resize: 28}, Limits{}, ErrSpec, "apply only to folder:DIR data"},
	} {
		d, err := Open(tc.spec, Options{Preprocess: tc.p, Limits: tc.lim})
		if err == nil { // images after the first are checked as they are read
			_, err = d.SHA256()
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %v containing %q", tc.name, err, tc.want, tc.msg)
		}
	}
}

// BenchmarkResizeImageNet resizes a 500×375 RGB image (a typical ImageNet
// validation size) to 341×256 and crops 224×224, as --resize 256
// --center-crop 224 does for each image.
func BenchmarkResizeImageNet(b *testing.B) {
	const w, h = 500, 375
	planes := make([]uint8, 3*w*h)
	for i := range planes {
		planes[i] = uint8(i * 7919 >> 3)
	}
	p := Preprocess{Resize: 256, CenterCrop: []int{224, 224}}
	b.ResetTimer()
	for range b.N {
		p.apply(planes, 3, w, h)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
}

// TestResizeExtremeAspect: a 20000×1 image (a few bytes of PNG) resized to
// a shorter side of 256 would be 5,120,000×256 pixels; it is refused, naming
// the image, before any of it is allocated.
func TestResizeExtremeAspect(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "a", "line.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, image.NewGray(image.Rect(0, 0, 20000, 1))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Open("folder:"+dir, Options{Preprocess: Preprocess{Resize: 256}})
	if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "line.png: 20000×1 resized to 5120000×256 is over the limit") {
		t.Errorf("got %v", err)
	}
}
