package npy

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// member is a raw archive member: data are written as they are, and the
// header says what crc, size, method and flags say, true or not.
type member struct {
	name   string
	method uint16
	data   []byte
	crc    uint32
	size   uint64 // declared uncompressed size
	flags  uint16
}

// stored returns an honest stored member.
func stored(name string, data []byte) member {
	return member{name: name, method: zip.Store, data: data, crc: crc32.ChecksumIEEE(data), size: uint64(len(data))}
}

// deflated returns an honest deflated member.
func deflated(name string, data []byte) member {
	return member{name: name, method: zip.Deflate, data: deflate(data), crc: crc32.ChecksumIEEE(data), size: uint64(len(data))}
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func archive(t testing.TB, members ...member) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: m.name, Method: m.method, Flags: m.flags, CRC32: m.crc,
			CompressedSize64: uint64(len(m.data)), UncompressedSize64: m.size,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func npyOf(t testing.TB, a *Array) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readNPZ(b []byte, lim Limits) (map[string]*Array, error) {
	return ReadNPZ(bytes.NewReader(b), int64(len(b)), lim)
}

func memberNames(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func TestNPZRoundTrip(t *testing.T) {
	arrays := map[string]*Array{}
	for i, d := range allDTypes {
		shape := [][]int{{}, {5}, {2, 3}, {2, 1, 3, 2}, {0, 4}}[i%5]
		arrays["a_"+string(d)] = sample(d, shape)
	}
	var buf bytes.Buffer
	if err := WriteNPZ(&buf, arrays, nil); err != nil {
		t.Fatal(err)
	}
	got, err := readNPZ(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(arrays) {
		t.Fatalf("%d arrays, want %d", len(got), len(arrays))
	}
	for name, a := range arrays {
		if !sameArray(got[name], a) {
			t.Errorf("%s: read %+v, wrote %+v", name, got[name], a)
		}
	}
	names := memberNames(t, buf.Bytes())
	if strings.Join(names, " ") != "a_b1.npy a_f2.npy a_f4.npy a_f8.npy a_i1.npy a_i2.npy a_i4.npy a_i8.npy a_u1.npy a_u2.npy a_u4.npy a_u8.npy" {
		t.Errorf("member order %v", names)
	}

	// The same arrays give the same bytes, whatever the map order.
	for range 5 {
		var again bytes.Buffer
		if err := WriteNPZ(&again, arrays, nil); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatal("WriteNPZ is not deterministic")
		}
	}

	// An explicit order.
	two := map[string]*Array{"y": arrays["a_i8"], "x": arrays["a_f4"]}
	buf.Reset()
	if err := WriteNPZ(&buf, two, []string{"y", "x"}); err != nil {
		t.Fatal(err)
	}
	if names := memberNames(t, buf.Bytes()); strings.Join(names, " ") != "y.npy x.npy" {
		t.Errorf("member order %v", names)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	for _, f := range zr.File {
		if !f.Modified.Equal(npzTime) || f.Method != zip.Store {
			t.Errorf("%s: modified %v, method %d", f.Name, f.Modified, f.Method)
		}
	}

	// No arrays at all.
	buf.Reset()
	if err := WriteNPZ(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := readNPZ(buf.Bytes(), Limits{}); err != nil || len(m) != 0 {
		t.Fatalf("empty archive: %v, %v", m, err)
	}
}

func TestNPZDeflatedAndMixed(t *testing.T) {
	x := sample(Float32, []int{4, 5})
	y := sample(Int32, []int{7})
	b := archive(t, deflated("x.npy", npyOf(t, x)), stored("y.npy", npyOf(t, y)), deflated("e.npy", npyOf(t, sample(Uint8, []int{0}))))
	m, err := readNPZ(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !sameArray(m["x"], x) || !sameArray(m["y"], y) || m["e"].Len() != 0 || len(m) != 3 {
		t.Fatalf("read %v", m)
	}
}

func TestWriteNPZErrors(t *testing.T) {
	ok := sample(Float32, []int{2})
	bad := &Array{Shape: []int{3}, DType: Float32, F32: make([]float32, 2)}
	cases := []struct {
		name   string
		arrays map[string]*Array
		order  []string
		substr string
	}{
		{"bad name", map[string]*Array{"a/b": ok}, nil, `array name "a/b" is not a plain name`},
		{"empty name", map[string]*Array{"": ok}, nil, `array name "" is not a plain name`},
		{"dot name", map[string]*Array{"..": ok}, nil, `array name ".." is not a plain name`},
		{"bad array", map[string]*Array{"a": ok, "b": bad}, nil, `array "b": shape [3] needs 3 elements, the data has 2`},
		{"nil array", map[string]*Array{"a": nil}, nil, `array "a": nil array`},
		{"order unknown", map[string]*Array{"a": ok}, []string{"a", "b"}, `order names "b", which is not among the arrays`},
		{"order twice", map[string]*Array{"a": ok, "b": ok}, []string{"a", "a"}, `order names "a" twice`},
		{"order short", map[string]*Array{"a": ok, "b": ok}, []string{"a"}, "order lists 1 of the 2 arrays"},
		{"order empty", map[string]*Array{"a": ok}, []string{}, "order lists 0 of the 1 arrays"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := WriteNPZ(&buf, c.arrays, c.order)
		if err == nil || !strings.Contains(err.Error(), c.substr) || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.substr)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", c.name, buf.Len())
		}
	}
	boom := errors.New("boom")
	for _, n := range []int{0, 40, 200} {
		err := WriteNPZ(&failingWriter{n: n, err: boom}, map[string]*Array{"a": ok, "b": sample(Float64, []int{100})}, nil)
		if !errors.Is(err, boom) {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
}

func TestReadNPZNames(t *testing.T) {
	data := npyOf(t, sample(Uint8, []int{2}))
	for _, name := range []string{
		"x", "x.npz", "x.NPY", ".npy", "a/b.npy", "/abs.npy", "../up.npy", `a\b.npy`, "dir/", "x.npy/",
		".hidden.npy", "-x.npy", "a b.npy", "é.npy", "a:b.npy", "x\x00.npy", strings.Repeat("a", 256) + ".npy",
	} {
		_, err := readNPZ(archive(t, stored(name, data)), Limits{})
		wantErr(t, err, "format", "is not a plain name.npy")
	}
	for _, name := range []string{"x.npy", "arr_0.npy", "a.b-c_D9.npy", "_.npy", "x.npy.npy", strings.Repeat("a", 255) + ".npy"} {
		m, err := readNPZ(archive(t, stored(name, data)), Limits{})
		if err != nil || m[strings.TrimSuffix(name, ".npy")] == nil {
			t.Errorf("%q: %v, %v", name, m, err)
		}
	}
	_, err := readNPZ(archive(t, stored("x.npy", data), deflated("x.npy", data)), Limits{})
	wantErr(t, err, "format", `duplicate member "x.npy"`)
}

func TestReadNPZMemberErrors(t *testing.T) {
	good := npyOf(t, sample(Int16, []int{3, 3}))
	crcBad := stored("x.npy", good)
	crcBad.crc++
	corrupt := deflated("x.npy", good)
	corrupt.data = append([]byte{0xff, 0xff}, corrupt.data[2:]...)
	encrypted := stored("x.npy", good)
	encrypted.flags |= 1
	bzip2 := stored("x.npy", good)
	bzip2.method = 12
	cases := []struct {
		name          string
		m             member
		class, substr string
	}{
		{"checksum", crcBad, "format", `member "x.npy": `},
		{"corrupt deflate", corrupt, "format", `member "x.npy": `},
		{"encrypted", encrypted, "unsupported", `member "x.npy" is encrypted`},
		{"bzip2", bzip2, "unsupported", `member "x.npy" uses compression method 12`},
		{"not npy", stored("x.npy", []byte("hello, world")), "format", `member "x.npy": not a .npy file (bad magic)`},
		{"trailing", stored("x.npy", append(append([]byte(nil), good...), 0)), "format", `member "x.npy": 1 bytes of trailing data after the array`},
		{"truncated", stored("x.npy", good[:len(good)-1]), "format", `member "x.npy": truncated data: want 18 bytes, got 17`},
		{"object", stored("x.npy", rawNPY(1, dict("|O", "(1,)"), []byte{0x80})), "unsupported", `member "x.npy": object arrays (pickles) are not supported`},
	}
	for _, c := range cases {
		_, err := readNPZ(archive(t, stored("ok.npy", good), c.m), Limits{})
		if err == nil || errClass(err) != c.class || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: %v, want a %s error containing %q", c.name, err, c.class, c.substr)
		}
	}
}

func TestReadNPZArchiveErrors(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("not a zip"), npyOf(t, sample(Uint8, []int{3})), []byte("PK\x05\x06")} {
		_, err := readNPZ(b, Limits{})
		wantErr(t, err, "format", "not a valid zip archive")
	}
	if _, err := ReadNPZ(bytes.NewReader(nil), -1, Limits{}); err == nil {
		t.Error("negative size: no error")
	}
	// An archive cut short loses its directory.
	b := archive(t, stored("x.npy", npyOf(t, sample(Uint8, []int{3}))))
	_, err := readNPZ(b[:len(b)-10], Limits{})
	wantErr(t, err, "format", "not a valid zip archive")
}

func TestReadNPZLimits(t *testing.T) {
	x := npyOf(t, sample(Float32, []int{10})) // 10 elements, 168 bytes
	three := archive(t, stored("a.npy", x), stored("b.npy", x), deflated("c.npy", x))
	if _, err := readNPZ(three, Limits{MaxArrays: 3, MaxElements: 30, MaxFileBytes: int64(len(three))}); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	_, err := readNPZ(three, Limits{MaxArrays: 2})
	wantErr(t, err, "limit", "archive has 3 members, limit is 2")
	_, err = readNPZ(three, Limits{MaxElements: 29})
	wantErr(t, err, "limit", `member "c.npy": shape [10] exceeds the 9 elements left of the limit of 29`)
	_, err = readNPZ(three, Limits{MaxElements: 9})
	wantErr(t, err, "limit", `member "a.npy": shape [10] exceeds the limit of 9 elements`)
	_, err = readNPZ(three, Limits{MaxFileBytes: int64(len(three) - 1)})
	wantErr(t, err, "limit", fmt.Sprintf("archive is %d bytes, limit is %d", len(three), len(three)-1))
	_, err = readNPZ(three, Limits{MaxFileBytes: int64(len(three)), MaxHeaderBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Declared sizes are checked, in total, before anything is read.
	_, err = readNPZ(three, Limits{MaxFileBytes: 3*168 - 1 + 300})
	if err != nil {
		t.Fatal(err)
	}
	lie := stored("big.npy", x)
	lie.size = 1 << 40
	_, err = readNPZ(archive(t, lie), Limits{})
	wantErr(t, err, "limit", "members total at least 1099511627776 bytes uncompressed, limit is 8589934592")
	// Compressible members: the archive is small, the members are not.
	z := npyOf(t, &Array{Shape: []int{1000}, DType: Float64, F64: make([]float64, 1000)}) // 8128 bytes
	zz := archive(t, deflated("a.npy", z), deflated("b.npy", z), deflated("c.npy", z))
	if _, err := readNPZ(zz, Limits{MaxFileBytes: 3 * 8128}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	_, err = readNPZ(zz, Limits{MaxFileBytes: 3*8128 - 1})
	wantErr(t, err, "limit", "members total at least 24384 bytes uncompressed, limit is 24383")
	_, err = readNPZ(zz, Limits{MaxFileBytes: 10000})
	wantErr(t, err, "limit", "members total at least 16256 bytes uncompressed, limit is 10000")
}

// Members whose declared size is not their real size: never read more than
// declared, never allocate for what is only claimed.
func TestReadNPZLyingSizes(t *testing.T) {
	// The header and declared size agree on 1000 bytes of data, but the
	// deflate stream goes on for 64 MiB.
	hdr := dict("|u1", "(1000,)")
	body := rawNPY(1, hdr, make([]byte, 1000))
	bomb := make([]byte, len(body)+64<<20)
	copy(bomb, body)
	m := deflated("bomb.npy", bomb)
	m.size = uint64(len(body))
	b := archive(t, m)
	var err error
	n := allocBytes(func() { _, err = readNPZ(b, Limits{}) })
	wantErr(t, err, "format", fmt.Sprintf(`member "bomb.npy": data exceed the declared size of %d bytes`, len(body)))
	if n > 1<<20 {
		t.Errorf("bomb: %d bytes allocated", n)
	}

	// A stored member longer than declared.
	m = stored("long.npy", append(append([]byte(nil), body...), 1, 2, 3))
	m.size = uint64(len(body))
	_, err = readNPZ(archive(t, m), Limits{})
	wantErr(t, err, "format", `member "long.npy": `)

	// A member shorter than declared, the header agreeing with the claim.
	for _, mk := range []func(string, []byte) member{stored, deflated} {
		m = mk("short.npy", body[:len(body)-100])
		m.size = uint64(len(body))
		_, err = readNPZ(archive(t, m), Limits{})
		// (The zip reader may withhold the last bytes it read with the error.)
		wantErr(t, err, "format", `member "short.npy": truncated data: want 1000 bytes, got `)
	}

	// A member whose header and declared size disagree.
	m = stored("x.npy", rawNPY(1, dict("|u1", "(2000,)"), make([]byte, 1000)))
	_, err = readNPZ(archive(t, m), Limits{})
	wantErr(t, err, "format", `member "x.npy": truncated data: want 2000 bytes, got 1000`)

	// Huge claims within roomy limits: the header and the declared size agree
	// on a gigabyte the archive does not hold.
	roomy := Limits{MaxElements: 1 << 40, MaxFileBytes: 1 << 40}
	huge := rawNPY(1, dict("<f8", "(134217728,)"), make([]byte, 1000))
	declared := uint64(len(huge) - 1000 + 1<<30)
	for _, mk := range []func(string, []byte) member{stored, deflated} {
		m = mk("huge.npy", huge)
		m.size = declared
		b := archive(t, m)
		n := allocBytes(func() { _, err = readNPZ(b, roomy) })
		wantErr(t, err, "format", `member "huge.npy": `)
		if n > 1<<20 {
			t.Errorf("method %d: %d bytes allocated for a claimed gigabyte", m.method, n)
		}
	}
}

// An archive of very many tiny members must not make the zip reader build a
// huge directory: reading it stops at a budget derived from MaxArrays.
func TestReadNPZHugeDirectory(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range 50000 {
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("%d.npy", i)}); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	b := buf.Bytes()
	var err error
	n := allocBytes(func() { _, err = readNPZ(b, Limits{MaxArrays: 8}) })
	wantErr(t, err, "limit", "archive directory is too large (limit 8 members)")
	if n > 8<<20 {
		t.Errorf("%d bytes allocated", n)
	}
	// Within the budget, the member count is checked after the directory is read.
	buf.Reset()
	zw = zip.NewWriter(&buf)
	for i := range 100 {
		zw.CreateRaw(&zip.FileHeader{Name: fmt.Sprintf("%d.npy", i)})
	}
	zw.Close()
	_, err = readNPZ(buf.Bytes(), Limits{MaxArrays: 8})
	wantErr(t, err, "limit", "archive has 100 members, limit is 8")
}

// failingReaderAt fails reads that touch bytes [lo, hi).
type failingReaderAt struct {
	r      io.ReaderAt
	lo, hi int64
	err    error
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.hi && off+int64(len(p)) > f.lo {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}

func TestReadNPZIOErrors(t *testing.T) {
	boom := errors.New("boom")
	x := npyOf(t, sample(Float64, []int{100}))
	b := archive(t, stored("a.npy", x), deflated("b.npy", x))
	n := int64(len(b))
	for _, r := range [][2]int64{
		{n - 30, n}, // the directory
		{0, 1},      // the first local header
		{100, 101},  // the first member's data
		{int64(len(x)) + 100, int64(len(x)) + 101}, // the second member
	} {
		_, err := ReadNPZ(failingReaderAt{bytes.NewReader(b), r[0], r[1], boom}, n, Limits{})
		if !errors.Is(err, boom) || errClass(err) != "other" || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("failing at %v: %v", r, err)
		}
	}
}

func TestReadNPZFile(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadNPZFile(filepath.Join(dir, "missing.npz"), Limits{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	_, err = ReadNPZFile(dir, Limits{})
	wantErr(t, err, "format", dir+" is a directory, not a regular file")
	path := filepath.Join(dir, "bad.npz")
	os.WriteFile(path, archive(t, stored("../x.npy", nil)), 0o644)
	_, err = ReadNPZFile(path, Limits{})
	wantErr(t, err, "format", path+`: member name "../x.npy" is not a plain name.npy`)
	f, err := os.Create(filepath.Join(dir, "good.npz"))
	if err != nil {
		t.Fatal(err)
	}
	want := sample(Uint64, []int{2, 2})
	if err := WriteNPZ(f, map[string]*Array{"w": want}, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m, err := ReadNPZFile(f.Name(), Limits{})
	if err != nil || !sameArray(m["w"], want) {
		t.Fatalf("%v, %v", m, err)
	}
}

func TestReadNPZBadLocalHeader(t *testing.T) {
	b := archive(t, stored("x.npy", npyOf(t, sample(Uint8, []int{3}))))
	b[0] = 'Q' // the local header signature of the only member
	_, err := readNPZ(b, Limits{})
	wantErr(t, err, "format", `member "x.npy": cannot open member`)
}
