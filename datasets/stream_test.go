package datasets

import (
	"bytes"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

// Samples read by index, in any order and in runs of any length, equal the
// stored data: IDX plain and gzip (read forward, reopened to go back), .npy
// NCHW and NHWC with three channels, and CIFAR records.
func TestReadSamplesByIndex(t *testing.T) {
	const n, c, h, w = 37, 3, 5, 4
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	u8 := make([]byte, n*c*h*w) // N×C×H×W
	for i := range u8 {
		u8[i] = byte(rng.IntN(256))
	}
	want := make([]float32, len(u8))
	for i, v := range u8 {
		want[i] = float32(v) / 255
	}
	hwc := make([]float32, len(u8)) // N×H×W×C as float32, the same pixels
	for i := 0; i < n; i++ {
		for k := 0; k < c; k++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					hwc[((i*h+y)*w+x)*c+k] = want[((i*c+k)*h+y)*w+x]
				}
			}
		}
	}
	labels := make([]byte, n)
	lab64 := make([]int64, n)
	var cifar []byte
	for i := range labels {
		labels[i] = byte(i % 10)
		lab64[i] = int64(i % 10)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	writeIDX(t, p("x.idx"), 0x08, []int{n, c, h, w}, u8, false)
	writeIDX(t, p("x.idx.gz"), 0x08, []int{n, c, h, w}, u8, true)
	writeIDX(t, p("y.idx"), 0x08, []int{n}, labels, false)
	var b bytes.Buffer
	npy.WriteUint8(&b, []int{n, c, h, w}, u8)
	os.WriteFile(p("x.npy"), b.Bytes(), 0o644)
	b.Reset()
	npy.WriteFloat32(&b, []int{n, h, w, c}, hwc)
	os.WriteFile(p("xhwc.npy"), b.Bytes(), 0o644)
	b.Reset()
	npy.WriteInt64(&b, []int{n}, lab64)
	os.WriteFile(p("y.npy"), b.Bytes(), 0o644)
	// CIFAR records are 3×32×32: the test checks its own expected pixels.
	cifarWant := make([]float32, n*cifarPixels)
	for i := 0; i < n; i++ {
		cifar = append(cifar, labels[i])
		for j := 0; j < cifarPixels; j++ {
			v := byte(rng.IntN(256))
			cifar = append(cifar, v)
			cifarWant[i*cifarPixels+j] = float32(v) / 255
		}
	}
	os.WriteFile(p("c.bin"), cifar, 0o644)

	orders := [][]int{
		{0, 1, 2, 3, 4, 5, 6},
		{36, 35, 0, 20, 21, 22, 3},
		{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 1, 2},
		{5, 5, 4},
	}
	for _, tc := range []struct {
		spec string
		want []float32
	}{
		{"idx:" + p("x.idx") + "," + p("y.idx"), want},
		{"idx:" + p("x.idx.gz") + "," + p("y.idx"), want},
		{"npy:" + p("x.npy") + "," + p("y.npy"), want},
		{"npy:" + p("xhwc.npy") + "," + p("y.npy"), want},
		{"cifar10:" + p("c.bin"), cifarWant},
	} {
		d := mustOpen(t, tc.spec, Options{})
		size := d.Size()
		if d.Len() != n || len(tc.want) != n*size {
			t.Fatalf("%s: %d samples of %v", tc.spec, d.Len(), d.Shape)
		}
		for pass := 0; pass < 2; pass++ { // before and after hashing
			for _, idx := range orders {
				got := make([]float32, len(idx)*size)
				if err := d.ReadSamples(got, idx); err != nil {
					t.Fatalf("%s: %v: %v", tc.spec, idx, err)
				}
				for j, i := range idx {
					if !equalFloats(got[j*size:(j+1)*size], tc.want[i*size:(i+1)*size]) {
						t.Fatalf("%s: pass %d, %v: sample %d differs", tc.spec, pass, idx, i)
					}
				}
			}
			hashOf(t, d)
		}
		d.Close()
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// A sample whose file changes after the data set was hashed is refused
// when it is read, naming the sample; the others still read.
func TestChangedSampleRefused(t *testing.T) {
	dir := t.TempDir()
	x := make([]float32, 6*4)
	for i := range x {
		x[i] = float32(i) / 24
	}
	var b bytes.Buffer
	npy.WriteFloat32(&b, []int{6, 4}, x)
	os.WriteFile(filepath.Join(dir, "x.npy"), b.Bytes(), 0o644)
	b.Reset()
	npy.WriteInt64(&b, []int{6}, []int64{0, 1, 0, 1, 0, 1})
	os.WriteFile(filepath.Join(dir, "y.npy"), b.Bytes(), 0o644)
	d := mustOpen(t, "npy:"+dir+"/x.npy,"+dir+"/y.npy", Options{})
	before := hashOf(t, d)
	f, err := os.OpenFile(filepath.Join(dir, "x.npy"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	// The last value of sample 3 (the data end with sample 5).
	f.WriteAt([]byte{0, 0, 0x80, 0x3f}, st.Size()-4*(2*4+1))
	f.Close()
	got := make([]float32, 4)
	if err := d.ReadSamples(got, []int{2}); err != nil {
		t.Errorf("unchanged sample 2: %v", err)
	}
	err = d.ReadSamples(make([]float32, 8), []int{2, 3})
	if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "sample 3 is not what it was when the data were hashed") {
		t.Errorf("changed sample 3: %v", err)
	}
	if after := hashOf(t, mustOpen(t, "npy:"+dir+"/x.npy,"+dir+"/y.npy", Options{})); after == before {
		t.Errorf("the changed file hashes as before")
	}
}

// --limit decodes only the images it keeps: a corrupt image after them is
// never opened, and the files listed (with their hashes) are the kept ones.
func TestFolderLimitDecodesOnlyKept(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a/1.png", "a/2.png", "a/3.png", "b/1.png"} {
		writePNG(t, filepath.Join(dir, name), image.NewGray(image.Rect(0, 0, 4, 3)))
	}
	os.WriteFile(filepath.Join(dir, "b", "2.png"), []byte("not a png"), 0o644)
	d := mustOpen(t, "folder:"+dir, Options{Limit: 4})
	if d.Len() != 4 || len(d.Files) != 4 || d.Folder.Classes[1].Images != 2 {
		t.Fatalf("%d samples, %d files, classes %+v", d.Len(), len(d.Files), d.Folder.Classes)
	}
	hashOf(t, d)
	for _, f := range d.Files {
		if len(f.SHA256) != 64 || f.Bytes == 0 {
			t.Errorf("file %+v not hashed", f)
		}
	}
	all := mustOpen(t, "folder:"+dir, Options{})
	if _, err := all.SHA256(); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), filepath.Join(dir, "b", "2.png")) {
		t.Errorf("without a limit: %v, want the corrupt image named", err)
	}
}

// BenchmarkOpenFolderLimit10 opens a folder of 50,000 images (10 classes of
// 5,000 hard links to one PNG) with Limit 10 and hashes it: listing must not
// decode the images it does not keep (scripts/bench-data.sh measures the
// memory of the same in a sweep).
func BenchmarkOpenFolderLimit10(b *testing.B) {
	dir := b.TempDir()
	one := filepath.Join(dir, "one.png")
	writePNG(&testing.T{}, one, image.NewGray(image.Rect(0, 0, 28, 28)))
	for c := 0; c < 10; c++ {
		sub := filepath.Join(dir, "folder", "class"+strconv.Itoa(c))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 5000; i++ {
			if err := os.Link(one, filepath.Join(sub, strconv.Itoa(i)+".png")); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := Open("folder:"+filepath.Join(dir, "folder"), Options{Limit: 10, Shape: []int{1, 28, 28}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.SHA256(); err != nil {
			b.Fatal(err)
		}
	}
}

// An image folder is read a batch at a time: Limits.MaxElements bounds each
// image, not the folder's total (ImageNet's 50,000 validation images at
// 3×224×224 are 7.5 billion values).
func TestFolderTotalNotLimited(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a/1.png", "a/2.png", "b/1.png", "b/2.png"} {
		writePNG(t, filepath.Join(dir, name), image.NewGray(image.Rect(0, 0, 4, 3)))
	}
	d, err := Open("folder:"+dir, Options{Limits: Limits{MaxElements: 3 * 12}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SHA256(); err != nil || d.Len() != 4 {
		t.Errorf("%d images: %v", d.Len(), err)
	}
	if _, err := Open("folder:"+dir, Options{Limits: Limits{MaxElements: 3*12 - 1}}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "4×3 pixels is over the limit") {
		t.Errorf("an image over the limit: %v", err)
	}
}
