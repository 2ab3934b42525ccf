package main

import (
	"archive/zip"
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
)

// writeMNISTLike writes n random 1×28×28 uint8 images and labels as .npy
// files in dir and returns the data spec.
func writeMNISTLike(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	x := make([]byte, n*28*28)
	for i := range x {
		x[i] = byte(rng.IntN(256))
	}
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(rng.IntN(10))
	}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	var b bytes.Buffer
	if err := npy.WriteUint8(&b, []int{n, 1, 28, 28}, x); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xp, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	npy.WriteInt64(&b, []int{n}, y)
	if err := os.WriteFile(yp, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "npy:" + xp + "," + yp
}

// A .npy data set is read a batch at a time: the peak memory of a sweep is
// the same for 2,000 and 20,000 samples. Holding the data set, as a reader
// that decodes it whole does, would add 20,000 × 784 × (4 + 1) bytes, 75 MiB.
// Both runs attack the same number of samples, the last 200 (--shard 9/10
// and 99/100), and hash all of them, so that every sample is read.
func TestNPYMemoryIndependentOfSize(t *testing.T) {
	const mib = 1 << 20
	rss := map[int]int64{}
	specs := map[int]string{}
	for _, n := range []int{2000, 20000} {
		specs[n] = writeMNISTLike(t, t.TempDir(), n)
	}
	// A child's peak RSS counts the parent's pages it was started from:
	// return the memory that wrote the files first.
	debug.FreeOSMemory()
	for n, shard := range map[int]string{2000: "9/10", 20000: "99/100"} {
		dir := t.TempDir()
		spec := specs[n]
		code, errs, peak := advcheckRSS(t, "sweep", "--model", "zoo:mnist-mlp", "--data", spec, "--shard", shard,
			"--attack", "fgsm", "--eps", "0.1", "--batch", "64", "--threads", "1", "-q", "--json", filepath.Join(dir, "r.json"))
		if code != 0 {
			t.Fatalf("%d samples: exit %d: %s", n, code, errs)
		}
		rss[n] = peak
		t.Logf("%s samples: peak RSS %d MiB", strconv.Itoa(n), peak/mib)
	}
	if rss[20000] > rss[2000]+24*mib {
		t.Errorf("peak RSS %d MiB with 20,000 samples, %d MiB with 2,000: memory grows with the data set", rss[20000]/mib, rss[2000]/mib)
	}
}

// writeMNISTLikeNPZ writes n random 1×28×28 uint8 images and labels as an
// .npz archive in dir, its members stored (np.savez) or deflated
// (np.savez_compressed), and returns the data spec.
func writeMNISTLikeNPZ(t *testing.T, dir string, n int, deflated bool) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	x := make([]byte, n*28*28)
	for i := range x {
		x[i] = byte(rng.IntN(256))
	}
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(rng.IntN(10))
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	method := zip.Store
	if deflated {
		method = zip.Deflate
	}
	for _, m := range []struct {
		name string
		a    *npy.Array
	}{{"x", &npy.Array{Shape: []int{n, 1, 28, 28}, DType: npy.Uint8, U8: x}}, {"y", &npy.Array{Shape: []int{n}, DType: npy.Int64, I64: y}}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if err := npy.Write(w, m.a); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "d.npz")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "npz:" + path
}

// An .npz data set is read a batch at a time too, its images by offset when
// stored and by decompressing forward when deflated: the peak memory of a
// sweep is the same for 2,000 and 20,000 samples (decoding the images whole
// would add 20,000 × 784 × (4 + 1) bytes, 75 MiB), as for .npy.
func TestNPZMemoryIndependentOfSize(t *testing.T) {
	const mib = 1 << 20
	for _, deflated := range []bool{false, true} {
		rss := map[int]int64{}
		specs := map[int]string{}
		for _, n := range []int{2000, 20000} {
			specs[n] = writeMNISTLikeNPZ(t, t.TempDir(), n, deflated)
		}
		debug.FreeOSMemory()
		for n, shard := range map[int]string{2000: "9/10", 20000: "99/100"} {
			dir := t.TempDir()
			code, errs, peak := advcheckRSS(t, "sweep", "--model", "zoo:mnist-mlp", "--data", specs[n], "--shard", shard,
				"--attack", "fgsm", "--eps", "0.1", "--batch", "64", "--threads", "1", "-q", "--json", filepath.Join(dir, "r.json"))
			if code != 0 {
				t.Fatalf("deflated %v, %d samples: exit %d: %s", deflated, n, code, errs)
			}
			rss[n] = peak
			t.Logf("deflated %v, %d samples: peak RSS %d MiB", deflated, n, peak/mib)
		}
		if rss[20000] > rss[2000]+24*mib {
			t.Errorf("deflated %v: peak RSS %d MiB with 20,000 samples, %d MiB with 2,000: memory grows with the data set", deflated, rss[20000]/mib, rss[2000]/mib)
		}
	}
}
