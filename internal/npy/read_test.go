package npy

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestReadHeaderVariants(t *testing.T) {
	data := []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0}
	cases := []struct {
		major byte
		hdr   string
		shape []int
	}{
		{1, dict("<i4", "(3,)"), []int{3}},
		{1, dict("<i4", "(1, 3)"), []int{1, 3}},
		{1, dict("<i4", "(1, 3,)"), []int{1, 3}},
		{1, dict("<i4", "( 3 , )"), []int{3}},
		{1, "{'shape': (3,), 'descr': '<i4', 'fortran_order': False}", []int{3}},
		{1, `{"fortran_order": False, "shape": (3,), "descr": "<i4"}`, []int{3}},
		{1, "  {\n'descr':'<i4',\t'fortran_order':False,'shape':(3,)}  \n", []int{3}},
		{1, dict("<i4", "(3L,)"), []int{3}}, // Python 2 long, version 1.0 only
		{1, dict("<i4", "(1L, 3L)"), []int{1, 3}},
		{2, dict("<i4", "(3,)"), []int{3}},
		{3, dict("<i4", "(3,)"), []int{3}},
	}
	for _, c := range cases {
		a, err := readBoth(t, rawNPY(c.major, c.hdr, data), Limits{})
		if err != nil {
			t.Errorf("%q: %v", c.hdr, err)
			continue
		}
		want := &Array{Shape: c.shape, DType: Int32, I64: []int64{1, 2, 3}}
		if !sameArray(a, want) {
			t.Errorf("%q: got %+v", c.hdr, a)
		}
	}
}

func TestReadScalarAndEmpty(t *testing.T) {
	a, err := readBoth(t, rawNPY(1, dict("<f8", "()"), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}), Limits{})
	if err != nil || len(a.Shape) != 0 || a.Shape == nil || len(a.F64) != 1 || a.F64[0] != 1 {
		t.Fatalf("scalar: %+v, %v", a, err)
	}
	shapes := []string{"(0,)", "(0, 5)", "(5, 0, 3)", "(2147483647, 0)"}
	if strconv.IntSize == 64 {
		shapes = append(shapes, "(9223372036854775807, 0)")
	}
	for _, shape := range shapes {
		a, err := readBoth(t, rawNPY(1, dict("<f4", shape), nil), Limits{})
		if err != nil || a.Len() != 0 {
			t.Fatalf("%s: %+v, %v", shape, a, err)
		}
	}
}

func TestReadBoolNormalized(t *testing.T) {
	a, err := readBoth(t, rawNPY(1, dict("|b1", "(4,)"), []byte{0, 1, 2, 255}), Limits{})
	if err != nil || !bytes.Equal(a.U8, []byte{0, 1, 1, 1}) {
		t.Fatalf("%+v, %v", a, err)
	}
}

func TestReadOneByteOrders(t *testing.T) {
	for _, d := range []string{"|u1", "<u1", ">u1"} {
		a, err := readBoth(t, rawNPY(1, dict(d, "(2,)"), []byte{7, 200}), Limits{})
		if err != nil || !bytes.Equal(a.U8, []byte{7, 200}) {
			t.Fatalf("%s: %+v, %v", d, a, err)
		}
	}
}

func TestReadHeaderErrors(t *testing.T) {
	cases := []struct {
		name, hdr     string
		class, substr string
	}{
		{"empty", "", "format", "header is not a dict"},
		{"not a dict", "['descr']", "format", "header is not a dict"},
		{"unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "format", "expected ',' or '}'"},
		{"no descr", "{'fortran_order': False, 'shape': (1,)}", "format", "header has no 'descr'"},
		{"no fortran", "{'descr': '<f4', 'shape': (1,)}", "format", "header has no 'fortran_order'"},
		{"no shape", "{'descr': '<f4', 'fortran_order': False}", "format", "header has no 'shape'"},
		{"extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "format", `unexpected key "x"`},
		{"dup descr", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "format", "duplicate key 'descr'"},
		{"dup fortran", "{'fortran_order': False, 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "format", "duplicate key 'fortran_order'"},
		{"dup shape", "{'shape': (1,), 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "format", "duplicate key 'shape'"},
		{"key not string", "{descr: '<f4'}", "format", "expected a string"},
		{"no colon", "{'descr' '<f4'}", "format", "expected ':'"},
		{"descr not string", "{'descr': 5, 'fortran_order': False, 'shape': (1,)}", "format", "expected a string"},
		{"escape", `{'descr': '<f\4', 'fortran_order': False, 'shape': (1,)}`, "format", "unsupported character"},
		{"non-ascii", "{'descr': '<f4\xe9', 'fortran_order': False, 'shape': (1,)}", "format", "unsupported character"},
		{"unterminated", "{'descr': '<f4", "format", "unterminated string"},
		{"fortran int", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "format", "not True or False"},
		{"fortran prefix", "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", "format", "not True or False"},
		{"shape list", dict("<f4", "[1]"), "format", "shape is not a tuple"},
		{"shape int", dict("<f4", "(3)"), "format", "shape is not a tuple"},
		{"shape negative", dict("<f4", "(-1,)"), "format", "expected a dimension"},
		{"shape leading zero", dict("<f4", "(03,)"), "format", "leading zero"},
		{"shape empty elem", dict("<f4", "(,)"), "format", "expected a dimension"},
		{"shape double comma", dict("<f4", "(3,,)"), "format", "expected a dimension"},
		{"shape no comma", dict("<f4", "(3 4)"), "format", "expected ',' in shape"},
		{"shape float", dict("<f4", "(3.0,)"), "format", "expected ',' in shape"},
		{"shape hex", dict("<f4", "(0x3,)"), "format", "bad dimension"},
		{"shape long in v2", "", "", ""}, // below, needs version 2.0
		{"shape unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, ", "format", "expected a dimension"},
		{"trailing text", dict("<f4", "(3,)") + "x", "format", "unexpected text after the dict"},
		{"two dicts", dict("<f4", "(3,)") + "{}", "format", "unexpected text after the dict"},
		{"huge dim", dict("<f4", "(99999999999999999999999,)"), "limit", "dimension 99999999999999999999999 is too large"},
		{"too many dims", dict("<f4", "("+strings.Repeat("1, ", 65)+")"), "unsupported", "more than 64 dimensions"},
		{"structured", "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,)}", "unsupported", "object arrays (pickles) are not supported (structured dtype)"},
	}
	for _, c := range cases {
		if c.class == "" {
			continue
		}
		_, err := readBoth(t, rawNPY(1, c.hdr, make([]byte, 12)), Limits{})
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if errClass(err) != c.class || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: got %v, want %s error containing %q", c.name, err, c.class, c.substr)
		}
	}
	_, err := readBoth(t, rawNPY(2, dict("<f4", "(3L,)"), make([]byte, 12)), Limits{})
	wantErr(t, err, "format", "bad dimension")
}

func TestReadDescrErrors(t *testing.T) {
	cases := []struct{ descr, class, substr string }{
		{"|O", "unsupported", "object arrays (pickles) are not supported"},
		{"<O8", "unsupported", "object arrays (pickles) are not supported"},
		{"<c8", "unsupported", `unsupported dtype "<c8"`},
		{"<U3", "unsupported", `unsupported dtype "<U3"`},
		{"|S5", "unsupported", `unsupported dtype "|S5"`},
		{"|V8", "unsupported", `unsupported dtype "|V8"`},
		{"<M8[ns]", "unsupported", `unsupported dtype "<M8[ns]"`},
		{"<f16", "unsupported", `unsupported dtype "<f16"`},
		{"<i3", "unsupported", `unsupported dtype "<i3"`},
		{"<b2", "unsupported", `unsupported dtype "<b2"`},
		{"|i4", "unsupported", `unsupported dtype "|i4"`},
		{"=f4", "unsupported", `unsupported dtype "=f4"`},
		{"f4", "unsupported", `unsupported dtype "f4"`},
		{"", "unsupported", `unsupported dtype ""`},
		{strings.Repeat("x", 100), "unsupported", `unsupported dtype "xxxx`},
	}
	for _, c := range cases {
		_, err := readBoth(t, rawNPY(1, dict(c.descr, "(1,)"), make([]byte, 8)), Limits{})
		wantErr(t, err, c.class, c.substr)
	}
	_, err := Read(bytes.NewReader(rawNPY(1, dict("|O", "(1,)"), []byte{0x80, 3})), Limits{})
	if err == nil || err.Error() != "npy: object arrays (pickles) are not supported" {
		t.Errorf("object array: %v", err)
	}
	hdr := "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"
	_, err = readBoth(t, rawNPY(1, hdr, make([]byte, 48)), Limits{})
	if err == nil || err.Error() != "npy: Fortran-order arrays are not supported; save with np.ascontiguousarray" {
		t.Errorf("Fortran order: %v", err)
	}
}

func TestReadPrefixErrors(t *testing.T) {
	good := rawNPY(1, dict("<f4", "(1,)"), make([]byte, 4))
	cases := []struct {
		name          string
		in            []byte
		class, substr string
	}{
		{"empty", nil, "format", "not a .npy file (bad magic)"},
		{"short", []byte("\x93NUM"), "format", "not a .npy file (bad magic)"},
		{"wrong magic", append([]byte("\x93NUMPZ"), good[6:]...), "format", "not a .npy file (bad magic)"},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00"), "format", "this is a zip archive"},
		{"empty zip", []byte("PK\x05\x06\x00\x00"), "format", "this is a zip archive"},
		{"pickle", []byte("\x80\x04\x95"), "format", "bad magic"},
		{"magic only", []byte(magic), "format", "truncated header"},
		{"no length", []byte(magic + "\x01\x00\x10"), "format", "truncated header"},
		{"v2 short length", []byte(magic + "\x02\x00\x10\x00\x00"), "format", "truncated header"},
		{"version 4.0", rawNPY(1, dict("<f4", "(1,)"), make([]byte, 4)), "unsupported", "unsupported format version 4.0"},
		{"version 1.1", nil, "unsupported", "unsupported format version 1.1"},
		{"version 0.0", nil, "unsupported", "unsupported format version 0.0"},
		{"short header", good[:30], "format", "truncated header"},
	}
	cases[9].in[6] = 4
	cases[10].in = append([]byte(nil), good...)
	cases[10].in[7] = 1
	cases[11].in = append([]byte(nil), good...)
	cases[11].in[6] = 0
	for _, c := range cases {
		_, err := readBoth(t, c.in, Limits{})
		if err == nil || errClass(err) != c.class || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: got %v, want %s error containing %q", c.name, err, c.class, c.substr)
		}
	}
}

func TestReadDataLengthErrors(t *testing.T) {
	hdr := dict("<i4", "(2, 3)")
	for _, in := range []struct {
		n      int
		substr string
	}{
		{0, "npy: truncated data: want 24 bytes, got 0"},
		{20, "npy: truncated data: want 24 bytes, got 20"},
		{23, "npy: truncated data: want 24 bytes, got 23"},
	} {
		b := rawNPY(1, hdr, make([]byte, in.n))
		_, err := Read(bytes.NewReader(b), Limits{})
		if err == nil || err.Error() != in.substr {
			t.Errorf("known size, %d bytes: %v", in.n, err)
		}
		_, err = Read(stream{bytes.NewReader(b)}, Limits{})
		if err == nil || err.Error() != in.substr {
			t.Errorf("stream, %d bytes: %v", in.n, err)
		}
	}
	b := rawNPY(1, hdr, make([]byte, 25))
	_, err := Read(bytes.NewReader(b), Limits{})
	wantErr(t, err, "format", "1 bytes of trailing data after the array")
	_, err = Read(stream{bytes.NewReader(b)}, Limits{})
	wantErr(t, err, "format", "trailing data after the array")
	// A zero-size array must not be followed by data either.
	_, err = readBoth(t, rawNPY(1, dict("<i4", "(0,)"), []byte{1}), Limits{})
	wantErr(t, err, "format", "trailing data")
	// Nor may a big chunked read end early.
	big := rawNPY(1, dict("<f8", "(100000,)"), make([]byte, 800000-1))
	_, err = Read(stream{bytes.NewReader(big)}, Limits{})
	if err == nil || err.Error() != "npy: truncated data: want 800000 bytes, got 799999" {
		t.Errorf("big stream: %v", err)
	}
}

func TestReadLimits(t *testing.T) {
	data := make([]byte, 24)
	b := rawNPY(1, dict("<i4", "(2, 3)"), data)
	if _, err := readBoth(t, b, Limits{MaxElements: 6, MaxHeaderBytes: len(dict("<i4", "(2, 3)")), MaxFileBytes: int64(len(b))}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	_, err := readBoth(t, b, Limits{MaxElements: 5})
	wantErr(t, err, "limit", "shape [2 3] exceeds the limit of 5 elements")
	_, err = readBoth(t, b, Limits{MaxHeaderBytes: 10})
	wantErr(t, err, "limit", "header is 60 bytes, limit is 10")
	_, err = Read(stream{bytes.NewReader(b)}, Limits{MaxFileBytes: int64(len(b) - 1)})
	wantErr(t, err, "limit", "array needs 94 bytes, limit is 93")
	_, err = Read(bytes.NewReader(b), Limits{MaxFileBytes: int64(len(b) - 1)})
	wantErr(t, err, "limit", "file is 94 bytes, limit is 93")
	// The product of the dimensions overflows.
	_, err = readBoth(t, rawNPY(1, dict("<i4", "(65536, 65536, 65536, 65536, 2)"), nil), Limits{MaxElements: 1 << 62})
	wantErr(t, err, "limit", "exceeds the limit")
	if strconv.IntSize < 64 {
		return
	}
	// The product fits, its size in bytes does not.
	_, err = readBoth(t, rawNPY(1, dict("<f8", "(4611686018427387903,)"), nil), Limits{MaxElements: 1 << 62, MaxFileBytes: 1 << 62})
	wantErr(t, err, "limit", "is too large")
}

func TestDefaultLimits(t *testing.T) {
	d := DefaultLimits()
	if d.MaxElements != 1<<30 || d.MaxHeaderBytes != 64<<10 || d.MaxFileBytes != 8<<30 || d.MaxArrays != 64 {
		t.Fatalf("DefaultLimits() = %+v", d)
	}
	if got := (Limits{}).withDefaults(); got != d {
		t.Fatalf("zero Limits mean %+v", got)
	}
	if got := (Limits{MaxElements: -1, MaxArrays: 3}).withDefaults(); got.MaxElements != d.MaxElements || got.MaxArrays != 3 {
		t.Fatalf("partial Limits mean %+v", got)
	}
}

// A short input whose header claims a huge array must fail before memory for
// the array is allocated, both at the default limits and at limits that
// would allow the claim.
func TestReadHugeClaimDoesNotAllocate(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("the claimed dimension does not fit in a 32-bit int")
	}
	hdr := dict("<f8", "(12500000000,)") // 100 GB
	b := rawNPY(1, hdr, make([]byte, 1024-10-len(hdr)))
	if len(b) != 1024 {
		t.Fatalf("input is %d bytes", len(b))
	}
	roomy := Limits{MaxElements: 1 << 40, MaxFileBytes: 1 << 40}
	cases := []struct {
		name  string
		lim   Limits
		class string
		read  func(Limits) error
	}{
		{"default limits", Limits{}, "limit", func(l Limits) error { _, err := Read(bytes.NewReader(b), l); return err }},
		{"default limits stream", Limits{}, "limit", func(l Limits) error { _, err := Read(stream{bytes.NewReader(b)}, l); return err }},
		{"roomy limits", roomy, "format", func(l Limits) error { _, err := Read(bytes.NewReader(b), l); return err }},
		{"roomy limits stream", roomy, "format", func(l Limits) error { _, err := Read(stream{bytes.NewReader(b)}, l); return err }},
	}
	for _, c := range cases {
		var err error
		n := allocBytes(func() {
			for range 10 {
				err = c.read(c.lim)
			}
		})
		if errClass(err) != c.class {
			t.Errorf("%s: %v, want a %s error", c.name, err, c.class)
		}
		// A stream may allocate its first chunk (64 KiB of buffer, 64 KiB of
		// data) before it finds the data short.
		if n/10 > 256<<10 {
			t.Errorf("%s: %d bytes allocated per read", c.name, n/10)
		}
		allocs := testing.AllocsPerRun(10, func() { c.read(c.lim) })
		if allocs > 40 {
			t.Errorf("%s: %v allocations per read", c.name, allocs)
		}
	}
	// The same through a file.
	path := filepath.Join(t.TempDir(), "huge.npy")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	n := allocBytes(func() {
		_, err := ReadFile(path, roomy)
		wantErr(t, err, "format", path+": truncated data: want 100000000000 bytes, got 946")
	})
	if n > 64<<10 {
		t.Errorf("ReadFile: %d bytes allocated", n)
	}
}

// A stream that delivers its data grows the array as they arrive.
func TestReadStreamGrows(t *testing.T) {
	const n = 300000
	data := make([]byte, 4*n)
	for i := range n {
		data[4*i] = byte(i)
		data[4*i+1] = byte(i >> 8)
		data[4*i+2] = byte(i >> 16)
	}
	a, err := readBoth(t, rawNPY(1, dict("<i4", "(300000,)"), data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a.I64 {
		if v != int64(i) {
			t.Fatalf("element %d is %d", i, v)
		}
	}
}

func TestReadIOErrors(t *testing.T) {
	boom := errors.New("boom")
	b := rawNPY(1, dict("<i4", "(2, 3)"), make([]byte, 24))
	for _, cut := range []int{0, 5, 9, 40, len(b) - 3, len(b)} {
		_, err := Read(&failingReader{data: b[:cut], err: boom}, Limits{})
		if !errors.Is(err, boom) || errClass(err) != "other" || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("failing after %d bytes: %v", cut, err)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing.npy"), Limits{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	_, err = ReadFile(dir, Limits{})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
	path := filepath.Join(dir, "short.npy")
	if err := os.WriteFile(path, rawNPY(1, dict("<i4", "(2, 3)"), make([]byte, 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(path, Limits{})
	if err == nil || err.Error() != "npy: "+path+": truncated data: want 24 bytes, got 20" {
		t.Errorf("short file: %v", err)
	}
	_, err = ReadFile(path, Limits{MaxFileBytes: 10})
	wantErr(t, err, "limit", path+": file is 90 bytes, limit is 10")
}

func TestReadInMemoryReaders(t *testing.T) {
	b := rawNPY(1, dict("<u2", "(2,)"), []byte{1, 0, 0, 1})
	want := &Array{Shape: []int{2}, DType: Uint16, I64: []int64{1, 256}}
	for _, r := range []io.Reader{bytes.NewReader(b), bytes.NewBuffer(b), strings.NewReader(string(b))} {
		a, err := Read(r, Limits{})
		if err != nil || !sameArray(a, want) {
			t.Errorf("%T: %+v, %v", r, a, err)
		}
		_, err = Read(r, Limits{}) // now empty
		wantErr(t, err, "format", "bad magic")
	}
	_, err := Read(bytes.NewBuffer(b[:len(b)-1]), Limits{})
	if err == nil || err.Error() != "npy: truncated data: want 4 bytes, got 3" {
		t.Errorf("short buffer: %v", err)
	}
}
