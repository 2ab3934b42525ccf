package npy

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// The files in testdata are written by NumPy (testdata/gen.py); expected.json
// says what they hold.

type golden struct {
	DType  string   `json:"dtype"`
	Shape  []int    `json:"shape"`
	Values []string `json:"values"`
	NpSave bool     `json:"np_save"` // written by np.save: Write must reproduce it
}

type expectations struct {
	Arrays       map[string]golden            `json:"arrays"`
	Errors       map[string]string            `json:"errors"`
	NPZ          map[string]map[string]golden `json:"npz"`
	NPZErrors    map[string]string            `json:"npz_errors"`
	HalfRounding [][2]uint32                  `json:"half_rounding"`
}

func loadExpectations(t *testing.T) expectations {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectations
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Arrays) == 0 || len(e.Errors) == 0 || len(e.NPZ) == 0 || len(e.HalfRounding) == 0 {
		t.Fatal("expected.json is incomplete")
	}
	return e
}

// checkGolden compares a with what NumPy says the file holds.
func checkGolden(t *testing.T, name string, a *Array, g golden) {
	t.Helper()
	if string(a.DType) != g.DType {
		t.Fatalf("%s: dtype %s, want %s", name, a.DType, g.DType)
	}
	if len(a.Shape) != len(g.Shape) {
		t.Fatalf("%s: shape %v, want %v", name, a.Shape, g.Shape)
	}
	for i := range g.Shape {
		if a.Shape[i] != g.Shape[i] {
			t.Fatalf("%s: shape %v, want %v", name, a.Shape, g.Shape)
		}
	}
	if a.Len() != len(g.Values) {
		t.Fatalf("%s: %d elements, want %d", name, a.Len(), len(g.Values))
	}
	if err := a.check(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, s := range g.Values {
		var ok bool
		switch a.DType.storage() {
		case stU8:
			v, err := strconv.ParseUint(s, 10, 8)
			ok = err == nil && a.U8[i] == uint8(v)
		case stI64:
			v, err := strconv.ParseInt(s, 10, 64)
			ok = err == nil && a.I64[i] == v
		case stU64:
			v, err := strconv.ParseUint(s, 10, 64)
			ok = err == nil && a.U64[i] == v
		case stF32:
			v, err := strconv.ParseFloat(s, 64)
			got := a.F32[i]
			ok = err == nil && (math.IsNaN(v) && got != got || math.Float32bits(got) == math.Float32bits(float32(v)))
		case stF64:
			v, err := strconv.ParseFloat(s, 64)
			got := a.F64[i]
			ok = err == nil && (math.IsNaN(v) && got != got || math.Float64bits(got) == math.Float64bits(v))
		}
		if !ok {
			t.Fatalf("%s: element %d differs from %s", name, i, s)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestNumPyFiles(t *testing.T) {
	e := loadExpectations(t)
	dtypes := map[string]bool{}
	for _, name := range sortedKeys(e.Arrays) {
		g := e.Arrays[name]
		path := filepath.Join("testdata", name)
		a, err := ReadFile(path, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkGolden(t, name, a, g)
		dtypes[g.DType] = true

		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readBoth(t, raw, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkGolden(t, name, b, g)

		if g.NpSave {
			var buf bytes.Buffer
			if err := Write(&buf, a); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("%s: Write differs from np.save:\n got %q\nwant %q", name, buf.Bytes(), raw)
			}
		}
	}
	for _, d := range []DType{Bool, Uint8, Int8, Int16, Int32, Int64, Uint16, Uint32, Uint64, Float16, Float32, Float64} {
		if !dtypes[string(d)] {
			t.Errorf("no NumPy file of dtype %s", d)
		}
	}
}

func TestNumPyFilesRefused(t *testing.T) {
	e := loadExpectations(t)
	for _, name := range sortedKeys(e.Errors) {
		path := filepath.Join("testdata", name)
		_, err := ReadFile(path, DefaultLimits())
		wantErr(t, err, e.Errors[name], path+": ")
	}
	raw, err := os.ReadFile("testdata/object.npy")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Read(bytes.NewReader(raw), DefaultLimits())
	if err == nil || err.Error() != "npy: object arrays (pickles) are not supported" {
		t.Errorf("object array: %v", err)
	}
	_, err = ReadFile("testdata/structured.npy", DefaultLimits())
	wantErr(t, err, "unsupported", "object arrays (pickles) are not supported (structured dtype)")
	_, err = ReadFile("testdata/fortran_f8.npy", DefaultLimits())
	wantErr(t, err, "unsupported", "Fortran-order arrays are not supported; save with np.ascontiguousarray")
	_, err = ReadFile("testdata/complex_c8.npy", DefaultLimits())
	wantErr(t, err, "unsupported", `unsupported dtype "<c8"`)
}

func TestNumPyArchives(t *testing.T) {
	e := loadExpectations(t)
	for _, name := range sortedKeys(e.NPZ) {
		want := e.NPZ[name]
		m, err := ReadNPZFile(filepath.Join("testdata", name), DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(m) != len(want) {
			t.Fatalf("%s: %d members, want %d", name, len(m), len(want))
		}
		for _, member := range sortedKeys(want) {
			a, ok := m[member]
			if !ok {
				t.Fatalf("%s: no member %q", name, member)
			}
			checkGolden(t, name+":"+member, a, want[member])
		}
	}
	for _, name := range sortedKeys(e.NPZErrors) {
		path := filepath.Join("testdata", name)
		_, err := ReadNPZFile(path, DefaultLimits())
		wantErr(t, err, e.NPZErrors[name], path+": member ")
	}
}

func TestHalfRoundingMatchesNumPy(t *testing.T) {
	e := loadExpectations(t)
	for _, c := range e.HalfRounding {
		f := math.Float32frombits(c[0])
		if got := float32ToHalf(f); got != uint16(c[1]) {
			t.Errorf("float32ToHalf(%g [%#08x]) = %#04x, NumPy gives %#04x", f, c[0], got, c[1])
		}
	}
}
