package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits are small so that the fuzzers explore the limit checks too.
var fuzzLimits = Limits{MaxElements: 1 << 12, MaxHeaderBytes: 1 << 10, MaxFileBytes: 1 << 16, MaxArrays: 4}

func addSeeds(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds %s: %v", pattern, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkReadError fails unless err wraps exactly one sentinel and is one line.
func checkReadError(t *testing.T, err error) {
	t.Helper()
	if c := errClass(err); c == "other" {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "npy: ") || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("bad error message %q", msg)
	}
}

// checkArray fails unless a is valid and within the limits.
func checkArray(t *testing.T, a *Array, maxElems int64) {
	t.Helper()
	if err := a.check(); err != nil {
		t.Fatalf("invalid array: %v", err)
	}
	n, ok := shapeProduct(a.Shape)
	if !ok || int64(a.Len()) != n || n > maxElems {
		t.Fatalf("shape %v, %d elements, limit %d", a.Shape, a.Len(), maxElems)
	}
}

func FuzzRead(f *testing.F) {
	addSeeds(f, "*.npy")
	f.Add(rawNPY(2, dict(">f2", "(2, 1)"), []byte{0x7c, 0, 0x80, 1}))
	f.Add(rawNPY(1, dict("<i8", "(1L,)"), make([]byte, 8)))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := readBoth(t, data, fuzzLimits)
		if err != nil {
			checkReadError(t, err)
			return
		}
		checkArray(t, a, fuzzLimits.MaxElements)
		// What was read writes and reads back the same.
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		b, err := Read(&buf, Limits{})
		if err != nil {
			t.Fatalf("reading what was written: %v", err)
		}
		if !sameArray(a, b) {
			t.Fatalf("round trip changed the array")
		}
	})
}

func FuzzReadNPZ(f *testing.F) {
	addSeeds(f, "*.npz")
	x := npyOf(f, sample(Int16, []int{2, 3}))
	f.Add(archive(f, stored("a.npy", x), deflated("b.npy", rawNPY(1, dict(">f8", "()"), make([]byte, 8)))))
	f.Add(archive(f, stored("e.npy", npyOf(f, sample(Bool, []int{0, 2})))))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadNPZ(bytes.NewReader(data), int64(len(data)), fuzzLimits)
		if err != nil {
			checkReadError(t, err)
			return
		}
		if len(m) > fuzzLimits.MaxArrays {
			t.Fatalf("%d arrays", len(m))
		}
		total := int64(0)
		for name, a := range m {
			if !validName(name) {
				t.Fatalf("member name %q", name)
			}
			checkArray(t, a, fuzzLimits.MaxElements)
			total += int64(a.Len())
		}
		if total > fuzzLimits.MaxElements {
			t.Fatalf("%d elements in all", total)
		}
		var buf bytes.Buffer
		if err := WriteNPZ(&buf, m, nil); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		back, err := ReadNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{})
		if err != nil {
			t.Fatalf("reading what was written: %v", err)
		}
		for name, a := range m {
			if b, ok := back[name]; !ok || !sameArray(a, b) {
				t.Fatalf("round trip changed %q", name)
			}
		}
	})
}
