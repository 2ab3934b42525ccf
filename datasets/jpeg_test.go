package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

// The files and PIL's pixels come from testdata/gen_jpeg.py.
const jpegDir = "testdata/jpeg"

var smallJPEGs = []string{"rgb444", "rgb422", "rgb420", "rgb420_q50", "rgb420_16", "gray", "prog420", "prog_gray"}

type jpegManifest struct {
	Folder224 struct {
		Files     map[string]string `json:"files"`
		SHA256RGB string            `json:"sha256_decoded_rgb"`
		SHA256L   string            `json:"sha256_decoded_l"`
	} `json:"folder224"`
	Corrupt []struct {
		File string `json:"file"`
		Kind string `json:"kind"`
		At   int    `json:"at"`
		Bit  byte   `json:"bit"`
		PIL  string `json:"pil"`
	} `json:"corrupt"`
}

func readManifest(t testing.TB) jpegManifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(jpegDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m jpegManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pilPixels reads PIL's decoded pixels: H×W×3 ("rgb") or H×W ("l") uint8.
func pilPixels(t testing.TB, name, mode string) (pix []uint8, h, w int) {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(jpegDir, "small", name+"."+mode+".npy"), npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return a.U8, a.Shape[0], a.Shape[1]
}

// pixels8 returns the values advcheck feeds the model, times 255, as
// uint8 in PIL's H×W×C order: appendPixels is the conversion OpenFolder uses.
func pixels8(img image.Image, c int) []uint8 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	x := appendPixels(nil, img, c)
	out := make([]uint8, len(x))
	for ch := 0; ch < c; ch++ {
		for i := 0; i < h*w; i++ {
			out[i*c+ch] = uint8(math.Round(float64(x[ch*h*w+i]) * 255))
		}
	}
	return out
}

func decodeBytes(t testing.TB, data []byte) (image.Image, error) {
	t.Helper()
	img, ok, err := decodeJPEGFile(bytes.NewReader(data), DefaultLimits())
	if !ok && err == nil {
		return nil, errors.New("not a JPEG")
	}
	return img, err
}

// diffStats compares two equally long pixel arrays.
func diffStats(a, b []uint8) (n int, mean float64, max int) {
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d > 0 {
			n++
		}
		mean += float64(d)
		if d > max {
			max = d
		}
	}
	return n, mean / float64(len(a)), max
}

// TestJPEGMatchesPIL: every pixel of every test file, read with 3 channels
// and with 1 (PIL's "L" of the decoded RGB), equals PIL's in the libjpeg
// build. The pure-Go build only checks the sizes and logs the differences.
func TestJPEGMatchesPIL(t *testing.T) {
	for _, name := range smallJPEGs {
		data, err := os.ReadFile(filepath.Join(jpegDir, "small", name+".jpg"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeBytes(t, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if gray := strings.Contains(name, "gray"); gray != isGray(img) {
			t.Errorf("%s: decoded as gray %v, want %v", name, isGray(img), gray)
		}
		for _, m := range []struct {
			mode string
			c    int
		}{{"rgb", 3}, {"l", 1}} {
			want, h, w := pilPixels(t, name, m.mode)
			if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
				t.Fatalf("%s: %d×%d, PIL %d×%d", name, b.Dx(), b.Dy(), w, h)
			}
			got := pixels8(img, m.c)
			n, mean, max := diffStats(got, want)
			if !JPEGPILExact {
				t.Logf("%s %s: %d of %d values differ from PIL's (mean %.2f, max %d)", name, m.mode, n, len(want), mean, max)
				continue
			}
			if n > 0 {
				t.Errorf("%s %s: %d of %d values differ from PIL's (mean %.2f, max %d)", name, m.mode, n, len(want), mean, max)
			}
		}
	}
	if !JPEGPILExact {
		t.Skipf("built without libjpeg (%s): pixels are not PIL's; build with -tags libjpeg to test bit-equality", JPEGDecoder)
	}
}

// TestGoJPEGDiffersFromPIL measures Go's image/jpeg against PIL on the test
// files: the reason the libjpeg build exists. It fails if Go's decoder ever
// matches PIL on the subsampled files (then the warning in pure-Go reports
// would be wrong) or decodes a different picture.
func TestGoJPEGDiffersFromPIL(t *testing.T) {
	for _, name := range []string{"rgb444", "rgb422", "rgb420", "rgb420_q50", "prog420", "gray"} {
		data, _ := os.ReadFile(filepath.Join(jpegDir, "small", name+".jpg"))
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want, _, _ := pilPixels(t, name, "rgb")
		n, mean, max := diffStats(pixels8(img, 3), want)
		t.Logf("go image/jpeg %s: %d of %d values differ from PIL's (%.0f %%), mean %.2f/255, max %d/255", name, n, len(want), 100*float64(n)/float64(len(want)), mean, max)
		if strings.Contains(name, "420") && n == 0 {
			t.Errorf("%s: Go's decoder matches PIL", name)
		}
		if mean > 8 {
			t.Errorf("%s: mean difference %.2f: not the same picture", name, mean)
		}
	}
}

// TestJPEGFolder224: the 224-pixel folder (4:2:0 baseline and progressive)
// read through Open has exactly the decoded-data hash of PIL's pixels,
// with 3 channels and with 1, and records its decoder.
func TestJPEGFolder224(t *testing.T) {
	m := readManifest(t)
	dir := filepath.Join(jpegDir, "folder224")
	for name, want := range m.Folder224.Files {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeBytes(t, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(pixels8(img, 3))
		if got := hex.EncodeToString(sum[:]); (got == want) != JPEGPILExact {
			t.Errorf("%s: pixels hash %s, PIL's %s (PIL-exact decoder: %v)", name, got, want, JPEGPILExact)
		}
	}
	for _, c := range []struct {
		shape []int
		want  string
	}{{[]int{3, 224, 224}, m.Folder224.SHA256RGB}, {[]int{1, 224, 224}, m.Folder224.SHA256L}} {
		d, err := Open("folder:"+dir, Options{Shape: c.shape})
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 4 || !equalInts(d.Labels, []int{0, 0, 1, 1}) {
			t.Fatalf("labels %v", d.Labels)
		}
		if d.Decoder != JPEGDecoder || d.Decoder == "" {
			t.Errorf("decoder %q, want %q", d.Decoder, JPEGDecoder)
		}
		if (hashOf(t, d) == c.want) != JPEGPILExact {
			t.Errorf("%v: sha256_decoded %s, PIL's pixels give %s (PIL-exact decoder: %v)", c.shape, hashOf(t, d), c.want, JPEGPILExact)
		}
	}
	// PNG folders decode no JPEG and name no decoder.
	png := t.TempDir()
	writePNG(t, filepath.Join(png, "a", "x.png"), image.NewGray(image.Rect(0, 0, 2, 2)))
	if d, err := Open("folder:"+png, Options{}); err != nil || d.Decoder != "" {
		t.Errorf("PNG folder: decoder %q, %v", d.Decoder, err)
	}
}

// TestJPEGCorrupt decodes truncated and bit-flipped copies of two test
// files. In the libjpeg build each outcome is PIL's: an error where PIL
// raises one, PIL's pixels where PIL decodes. Every build: an error wraps
// ErrBadData through OpenFolder's path, never a panic.
func TestJPEGCorrupt(t *testing.T) {
	m := readManifest(t)
	if len(m.Corrupt) < 50 {
		t.Fatalf("only %d corrupt cases", len(m.Corrupt))
	}
	errs := 0
	for _, c := range m.Corrupt {
		data, err := os.ReadFile(filepath.Join(jpegDir, "small", c.File))
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind == "truncate" {
			data = data[:c.At]
		} else {
			data[c.At] ^= c.Bit
		}
		label := fmt.Sprintf("%s %s at %d", c.File, c.Kind, c.At)
		img, err := decodeBytes(t, data)
		got := "error"
		if err == nil {
			sum := sha256.Sum256(pixels8(img, 3))
			got = hex.EncodeToString(sum[:])
		} else {
			errs++
		}
		if JPEGPILExact && got != c.PIL {
			t.Errorf("%s: decoded %.12s, PIL %.12s (err %v)", label, got, c.PIL, err)
		}
	}
	t.Logf("%d corrupt copies, %d refused", len(m.Corrupt), errs)
	// Through the folder reader: one line, ErrBadData, the file named.
	src, _ := os.ReadFile(filepath.Join(jpegDir, "small", "rgb420.jpg"))
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "cut.jpg"), src[:len(src)/2], 0o644)
	_, err := Open("folder:"+dir, Options{Shape: []int{3, 17, 23}})
	if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "cut.jpg") || strings.Contains(err.Error(), "\n") {
		t.Errorf("truncated file in a folder: %v", err)
	}
}

// sofOffset finds the height field of a JPEG's SOF0/SOF2 segment.
func sofOffset(t *testing.T, data []byte) int {
	t.Helper()
	for i := 2; i+9 < len(data); {
		if data[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		if data[i+1] == 0xC0 || data[i+1] == 0xC2 {
			return i + 5
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	t.Fatal("no SOF")
	return 0
}

// TestJPEGRefused: what advcheck refuses before decoding — sizes over the
// limits (read from the header, before pixel memory is allocated), files
// over MaxBytes, CMYK — each with a clear message.
func TestJPEGRefused(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join(jpegDir, "small", "prog420.jpg"))
	huge := bytes.Clone(src)
	off := sofOffset(t, huge)
	binary.BigEndian.PutUint16(huge[off:], 60000)   // height
	binary.BigEndian.PutUint16(huge[off+2:], 60000) // width
	cmyk, _ := os.ReadFile(filepath.Join(jpegDir, "small", "cmyk.jpg"))
	for _, c := range []struct {
		name string
		data []byte
		lim  Limits
		want string
	}{
		{"60000×60000 header", huge, DefaultLimits(), "60000×60000 pixels is over the limit"},
		{"over max elements", src, Limits{MaxBytes: 1 << 20, MaxElements: 23*17*3 - 1}, "23×17 pixels is over the limit"},
		{"over max bytes", src, Limits{MaxBytes: int64(len(src)) - 1, MaxElements: 1 << 20}, fmt.Sprintf("more than %d bytes", len(src)-1)},
		{"cmyk", cmyk, DefaultLimits(), "CMYK"},
	} {
		_, ok, err := decodeJPEGFile(bytes.NewReader(c.data), c.lim)
		if !ok || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: ok %v, error %v; want %q", c.name, ok, err, c.want)
		}
	}
	// Within the limits the same file decodes.
	if _, _, err := decodeJPEGFile(bytes.NewReader(src), Limits{MaxBytes: int64(len(src)), MaxElements: 23 * 17 * 3}); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

// FuzzJPEG: any bytes decode to an image of the header's size within the
// limits, or fail; never a panic or a crash in C.
func FuzzJPEG(f *testing.F) {
	for _, name := range append(smallJPEGs, "cmyk") {
		b, _ := os.ReadFile(filepath.Join(jpegDir, "small", name+".jpg"))
		f.Add(b)
	}
	lim := Limits{MaxBytes: 1 << 16, MaxElements: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, ok, err := decodeJPEGFile(bytes.NewReader(data), lim)
		if err != nil || !ok {
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx()*b.Dy()*3) > lim.MaxElements {
			t.Fatalf("decoded %v", b)
		}
		// What OpenFolder does next: every pixel must be readable.
		if x := appendPixels(nil, img, 3); len(x) != 3*b.Dx()*b.Dy() {
			t.Fatalf("%d values for %v", len(x), b)
		}
	})
}

// BenchmarkJPEGDecode224 decodes the 224×224 test files with the decoder
// compiled in and with Go's image/jpeg.
func BenchmarkJPEGDecode224(b *testing.B) {
	m := readManifest(b)
	var files [][]byte
	for name := range m.Folder224.Files {
		data, err := os.ReadFile(filepath.Join(jpegDir, "folder224", name))
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	run := func(b *testing.B, decode func([]byte) error) {
		for i := 0; i < b.N; i++ {
			if err := decode(files[i%len(files)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
	}
	b.Run("compiled="+strings.Fields(JPEGDecoder)[0], func(b *testing.B) {
		run(b, func(d []byte) error { _, err := decodeJPEG(d, 1<<30); return err })
	})
	b.Run("go-image-jpeg", func(b *testing.B) {
		run(b, func(d []byte) error { _, err := jpeg.Decode(bytes.NewReader(d)); return err })
	})
}
