package datasets

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

func TestSample(t *testing.T) {
	d, err := Open("mnist-sample", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 1000 || !equalInts(d.Shape, []int{1, 28, 28}) || d.Scaling != "uint8/255" {
		t.Fatalf("len %d shape %v scaling %s", d.Len(), d.Shape, d.Scaling)
	}
	if want := []int{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}; !equalInts(d.Labels[:10], want) {
		t.Errorf("first labels %v, want %v", d.Labels[:10], want)
	}
	for _, v := range pixels(t, d) {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %v outside [0, 1]", v)
		}
	}
	if err := d.Check([]int{1, 28, 28}, 10, 0, 1); err != nil {
		t.Error(err)
	}
	l, _ := Open("mnist-sample", Options{Limit: 10})
	if l.Len() != 10 || hashOf(t, l) == hashOf(t, d) {
		t.Errorf("limit: %d samples, hash %s", l.Len(), hashOf(t, l))
	}
}

// writeIDX writes an IDX file.
func writeIDX(t *testing.T, path string, kind byte, dims []int, data []byte, gz bool) {
	var b bytes.Buffer
	b.Write([]byte{0, 0, kind, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	out := b.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(out)
		w.Close()
		out = z.Bytes()
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The same data read from IDX, plain or gzip, .npy (NCHW and NHWC), .npz
// and the embedded sample has the same hash.
func TestSameDataSameHash(t *testing.T) {
	ref, err := Open("mnist-sample", Options{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u8 := make([]byte, len(pixels(t, ref)))
	for i, v := range pixels(t, ref) {
		u8[i] = byte(math.Round(float64(v) * 255))
	}
	lab := make([]byte, ref.Len())
	lab64 := make([]int64, ref.Len())
	for i, l := range ref.Labels {
		lab[i], lab64[i] = byte(l), int64(l)
	}
	writeIDX(t, filepath.Join(dir, "x.idx"), 0x08, []int{50, 28, 28}, u8, false)
	writeIDX(t, filepath.Join(dir, "y.idx.gz"), 0x08, []int{50}, lab, true)
	save := func(name string, shape []int, data []uint8) {
		var b bytes.Buffer
		if err := npy.WriteUint8(&b, shape, data); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
	}
	save("x.npy", []int{50, 1, 28, 28}, u8)
	save("x3.npy", []int{50, 28, 28}, u8)
	save("xhwc.npy", []int{50, 28, 28, 1}, u8)
	var yb bytes.Buffer
	npy.WriteInt64(&yb, []int{50}, lab64)
	os.WriteFile(filepath.Join(dir, "y.npy"), yb.Bytes(), 0o644)
	var z bytes.Buffer
	npy.WriteNPZ(&z, map[string]*npy.Array{"x": {Shape: []int{50, 28, 28}, DType: npy.Uint8, U8: u8}, "y": {Shape: []int{50}, DType: npy.Int64, I64: lab64}}, nil)
	os.WriteFile(filepath.Join(dir, "d.npz"), z.Bytes(), 0o644)
	writeDeflatedNPZ(t, filepath.Join(dir, "dz.npz"), map[string]*npy.Array{
		"images": {Shape: []int{50, 28, 28, 1}, DType: npy.Uint8, U8: u8}, "labels": {Shape: []int{50}, DType: npy.Int64, I64: lab64}})
	for _, spec := range []string{
		"idx:" + dir + "/x.idx," + dir + "/y.idx.gz",
		"npy:" + dir + "/x.npy," + dir + "/y.npy",
		"npy:" + dir + "/x3.npy," + dir + "/y.npy",
		"npy:" + dir + "/xhwc.npy," + dir + "/y.npy",
		"npz:" + dir + "/d.npz",
		"npz:" + dir + "/dz.npz",
	} {
		d, err := Open(spec, Options{})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if hashOf(t, d) != hashOf(t, ref) {
			t.Errorf("%s: hash %s, the embedded sample's is %s", spec, hashOf(t, d), hashOf(t, ref))
		}
		if len(d.Files) == 0 || d.Files[0].SHA256 == "" {
			t.Errorf("%s: source files not recorded", spec)
		}
	}
}

func TestFullMNIST(t *testing.T) {
	dir := "../data/mnist"
	if _, err := os.Stat(filepath.Join(dir, "t10k-images-idx3-ubyte")); err != nil {
		t.Skip("the full MNIST is not in data/mnist (make data)")
	}
	d, err := Open("mnist:"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10000 {
		t.Fatalf("%d samples", d.Len())
	}
	if d.Files[0].SHA256 != "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7" {
		t.Errorf("t10k images SHA-256 %s", d.Files[0].SHA256)
	}
	s, _ := Open("mnist-sample", Options{})
	d2, _ := Open("mnist:"+dir, Options{Limit: 1000})
	if hashOf(t, d2) != hashOf(t, s) {
		t.Error("the first 1000 of the full test set differ from the embedded sample")
	}
}

func TestShards(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1001} {
		for _, k := range []int{1, 2, 3, 8, 13} {
			next := 0
			for i := 0; i < k; i++ {
				lo, hi := Shard{i, k}.Range(n)
				if lo != next || hi < lo {
					t.Fatalf("len %d, shard %d/%d = [%d, %d), want to start at %d", n, i, k, lo, hi, next)
				}
				next = hi
			}
			if next != n {
				t.Fatalf("len %d, %d shards cover %d", n, k, next)
			}
		}
	}
	if _, err := ParseShard("3/3"); !errors.Is(err, ErrSpec) {
		t.Errorf("3/3: %v", err)
	}
	if s, err := ParseShard("2/5"); err != nil || s != (Shard{2, 5}) {
		t.Errorf("2/5: %v %v", s, err)
	}
	b := Batches(10, 35, 8)
	if len(b) != 4 || b[3] != [2]int{34, 35} || b[0] != [2]int{10, 18} {
		t.Errorf("batches %v", b)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	var b bytes.Buffer
	png.Encode(&b, img)
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, b.Bytes(), 0o644)
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	for i, class := range []string{"cat", "ant", "bee"} {
		img := image.NewNRGBA(image.Rect(0, 0, 4, 3))
		img.SetNRGBA(1, 2, color.NRGBA{R: uint8(100 * i), G: 50, B: 200, A: 255})
		writePNG(t, filepath.Join(dir, class, "a.png"), img)
		writePNG(t, filepath.Join(dir, class, "b.png"), img)
	}
	os.WriteFile(filepath.Join(dir, "ant", ".DS_Store"), []byte("x"), 0o644)
	d, err := Open("folder:"+dir, Options{Shape: []int{3, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 6 || !equalInts(d.Labels, []int{0, 0, 1, 1, 2, 2}) || strings.Join(d.Classes, ",") != "ant,bee,cat" {
		t.Fatalf("labels %v classes %v", d.Labels, d.Classes)
	}
	// Pixel (x=1, y=2) of the "cat" image (i = 0): R 0, G 50, B 200.
	s := sampleOf(t, d, 4)
	if s[0*12+2*4+1] != 0 || s[1*12+2*4+1] != 50.0/255 || s[2*12+2*4+1] != 200.0/255 {
		t.Errorf("pixels %v", s)
	}
	g, err := Open("folder:"+dir, Options{Shape: []int{1, 3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	// PIL: L = (0·19595 + 50·38470 + 200·7471 + 32768) >> 16 = 52
	if v := sampleOf(t, g, 4)[2*4+1]; v != 52.0/255 {
		t.Errorf("luma %v, want 52/255", v*255)
	}
	os.WriteFile(filepath.Join(dir, "classes.txt"), []byte("cat\nbee\nant\n"), 0o644)
	m, err := Open("folder:"+dir, Options{Shape: []int{3, 3, 4}})
	if err != nil || !equalInts(m.Labels, []int{2, 2, 1, 1, 0, 0}) {
		t.Errorf("mapping file: %v %v", m, err)
	}
	if _, err := Open("folder:"+dir, Options{Shape: []int{3, 28, 28}}); err == nil || !strings.Contains(err.Error(), "does not resize") {
		t.Errorf("size mismatch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "bee", "notes.txt"), []byte("x"), 0o644)
	if _, err := Open("folder:"+dir, Options{Shape: []int{3, 3, 4}}); err == nil || !strings.Contains(err.Error(), "not a PNG or JPEG") {
		t.Errorf("stray file: %v", err)
	}
	empty := t.TempDir()
	if _, err := Open("folder:"+empty, Options{}); !errors.Is(err, ErrBadData) {
		t.Errorf("empty folder: %v", err)
	}
}

func TestBadData(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	img := make([]byte, 4*3*3)
	writeIDX(t, p("x"), 0x08, []int{4, 3, 3}, img, false)
	writeIDX(t, p("y"), 0x08, []int{4}, []byte{0, 1, 2, 3}, false)
	writeIDX(t, p("y5"), 0x08, []int{5}, []byte{0, 1, 2, 3, 4}, false)
	writeIDX(t, p("trunc"), 0x08, []int{4, 3, 3}, img[:20], false)
	writeIDX(t, p("extra"), 0x08, []int{4, 3, 3}, append(img, 1), false)
	writeIDX(t, p("huge"), 0x08, []int{100000, 1000, 1000}, img, false) // 100 GB claimed in a tiny file
	os.WriteFile(p("magic"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, 0o644)
	os.WriteFile(p("empty"), nil, 0o644)
	// A gzip bomb: a small file that inflates far past the limit.
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write([]byte{0, 0, 8, 1, 0, 0, 0, 4})
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	os.WriteFile(p("bomb.gz"), bomb.Bytes(), 0o644)
	var nan bytes.Buffer
	npy.WriteFloat32(&nan, []int{2, 2, 2}, []float32{0, 1, float32(math.NaN()), 0, 0, 0, 0, 0})
	os.WriteFile(p("nan.npy"), nan.Bytes(), 0o644)
	var y2 bytes.Buffer
	npy.WriteInt64(&y2, []int{2}, []int64{0, 1})
	os.WriteFile(p("y2.npy"), y2.Bytes(), 0o644)
	cases := []struct{ spec, want string }{
		{"idx:" + p("x") + "," + p("y5"), "4 images but"},
		{"idx:" + p("trunc") + "," + p("y"), "truncated"},
		{"idx:" + p("extra") + "," + p("y"), "data after"},
		{"idx:" + p("huge") + "," + p("y"), "over the limit"},
		{"idx:" + p("magic") + "," + p("y"), "not an IDX file"},
		{"idx:" + p("empty") + "," + p("y"), "no IDX header"},
		{"idx:" + p("x") + "," + p("bomb.gz"), "data after"},
		{"idx:" + p("missing") + "," + p("y"), "no such file"},
		{"npy:" + p("nan.npy") + "," + p("y2.npy"), "NaN"},
		{"mnist:" + dir, "no t10k-images-idx3-ubyte"},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d, err := Open(c.spec, Options{Limits: Limits{MaxBytes: 16 << 20}})
		if err == nil { // values are checked by the pass that hashes them
			_, err = d.SHA256()
		}
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.spec, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines", c.spec)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: allocated %d bytes", c.spec, grew)
		}
	}
	// Labels and shapes against the model.
	d, err := Open("idx:"+p("x")+","+p("y"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check([]int{1, 3, 3}, 3, 0, 1); err == nil || !strings.Contains(err.Error(), "label 3 of sample 3") {
		t.Errorf("label out of range: %v", err)
	}
	if err := d.Check([]int{1, 28, 28}, 10, 0, 1); err == nil || !strings.Contains(err.Error(), "the model takes") {
		t.Errorf("shape mismatch: %v", err)
	}
	big := make([]byte, 4*4*3*3)
	binary.BigEndian.PutUint32(big[4*(9+5):], math.Float32bits(200))
	writeIDX(t, p("f"), 0x0D, []int{4, 3, 3}, big, false)
	if d, err = Open("idx:"+p("f")+","+p("y"), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := d.Check([]int{1, 3, 3}, 10, 0, 1); err == nil || !strings.Contains(err.Error(), "sample 1 holds 200") || !strings.Contains(err.Error(), "--bounds") {
		t.Errorf("out of bounds: %v", err)
	}
	for _, spec := range []string{"", "mnist", "idx:a", "npy:x.npy", "csv:x", "mnist-sample:x"} {
		if _, err := Open(spec, Options{}); !errors.Is(err, ErrSpec) {
			t.Errorf("spec %q: %v", spec, err)
		}
	}
}

// A header claiming 100 GB in a 1 KB file fails without allocating.
func TestHugeHeaderDoesNotAllocate(t *testing.T) {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, 3})
	for _, d := range []uint32{100000, 1000, 1000} {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(make([]byte, 1000))
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := readIDX(bytes.NewReader(b.Bytes()), "x", 1<<30, 4<<30); err == nil {
			t.Fatal("accepted")
		}
	})
	if allocs > 20 {
		t.Errorf("%v allocations", allocs)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	readIDX(bytes.NewReader(b.Bytes()), "x", 1<<40, 1<<40) // within limits: reads only what is there
	runtime.ReadMemStats(&ms)
	if ms.TotalAlloc-before > 1<<20 {
		t.Errorf("a lying header made the reader allocate %d bytes", ms.TotalAlloc-before)
	}
}

// writeDeflatedNPZ writes arrays as np.savez_compressed does: members
// name.npy, deflated.
func writeDeflatedNPZ(t *testing.T, path string, arrays map[string]*npy.Array) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, a := range arrays {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Write(w, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An .npz's images are read by offset (stored) or by decompressing forward
// (deflated), in any order: samples read backwards, twice and out of order
// equal the arrays written, for float32 NCHW and uint8 NHWC members.
func TestNPZMembersReadInAnyOrder(t *testing.T) {
	const n, c, h, w = 9, 3, 5, 4
	rng := rand.New(rand.NewPCG(13, 3))
	f32 := make([]float32, n*c*h*w)
	for i := range f32 {
		f32[i] = float32(rng.NormFloat64())
	}
	u8 := make([]byte, n*h*w*c)
	for i := range u8 {
		u8[i] = byte(rng.IntN(256))
	}
	labels := make([]int64, n)
	for i := range labels {
		labels[i] = int64(i % 3)
	}
	dir := t.TempDir()
	for _, c4 := range []struct {
		name string
		x    *npy.Array
		want func(i, k int) float32 // value k of sample i, C×H×W
	}{
		{"f32", &npy.Array{Shape: []int{n, c, h, w}, DType: npy.Float32, F32: f32}, func(i, k int) float32 { return f32[i*c*h*w+k] }},
		{"u8hwc", &npy.Array{Shape: []int{n, h, w, c}, DType: npy.Uint8, U8: u8}, func(i, k int) float32 {
			ch, y, x := k/(h*w), k/w%h, k%w
			return float32(u8[i*h*w*c+(y*w+x)*c+ch]) / 255
		}},
	} {
		arrays := map[string]*npy.Array{"x": c4.x, "y": {Shape: []int{n}, DType: npy.Int64, I64: labels}}
		stored, deflated := filepath.Join(dir, c4.name+".npz"), filepath.Join(dir, c4.name+"z.npz")
		var b bytes.Buffer
		if err := npy.WriteNPZ(&b, arrays, nil); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(stored, b.Bytes(), 0o644)
		writeDeflatedNPZ(t, deflated, arrays)
		for _, path := range []string{stored, deflated} {
			d, err := Open("npz:"+path, Options{})
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, i := range []int{8, 7, 3, 3, 0, 5, 1} {
				x := sampleOf(t, d, i)
				for k, v := range x {
					if v != c4.want(i, k) {
						t.Fatalf("%s: sample %d value %d = %v, want %v", path, i, k, v, c4.want(i, k))
					}
				}
				if d.Label(i) != i%3 {
					t.Fatalf("%s: label %d = %d", path, i, d.Label(i))
				}
			}
			d.Close()
		}
	}
}
