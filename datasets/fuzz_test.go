package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzIDX: any bytes, plain or gzip, decode to an array within the limits or
// fail with ErrBadData; never a panic.
func FuzzIDX(f *testing.F) {
	b, _ := os.ReadFile("mnistsample/t10k-1000-labels-idx1-ubyte.gz")
	f.Add(b)
	if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
		raw, _ := io.ReadAll(zr)
		f.Add(raw)
		f.Add(raw[:20])
	}
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0x7f, 0xc0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r io.Reader = bytes.NewReader(data)
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return
			}
			r = io.LimitReader(zr, 1<<20+1)
		}
		a, err := readIDX(r, "fuzz", 1<<18, 1<<20)
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.dims {
			n *= d
		}
		if n > 1<<18 || (a.u8 != nil && len(a.u8) != n) || (a.u8 == nil && len(a.f) != n) {
			t.Fatalf("dims %v with %d/%d values", a.dims, len(a.u8), len(a.f))
		}
	})
}

// FuzzClassMapping: any bytes parse as a class list or a classes.json
// mapping, or fail with ErrBadData; a parsed mapping has unique,
// non-negative indices and a list has unique, non-empty names.
func FuzzClassMapping(f *testing.F) {
	f.Add([]byte(`{"chihuahua": 151, "tabby": 281}`))
	f.Add([]byte(`{"a": 1, "a": 2}`))
	f.Add([]byte("# wnids\n\nn01440764\nn01443537\n"))
	f.Add([]byte(`{"a": 1e3, "b": -0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if m, err := parseClassJSON(data, "fuzz"); err == nil {
			seen := map[int]bool{}
			for _, i := range m {
				if i < 0 || seen[i] {
					t.Fatalf("mapping %v", m)
				}
				seen[i] = true
			}
		} else if !errors.Is(err, ErrBadData) {
			t.Fatal(err)
		}
		if names, err := parseClassList(data, "fuzz"); err == nil {
			seen := map[string]bool{}
			for _, n := range names {
				if n == "" || seen[n] {
					t.Fatalf("list %q", names)
				}
				seen[n] = true
			}
		} else if !errors.Is(err, ErrBadData) {
			t.Fatal(err)
		}
	})
}
