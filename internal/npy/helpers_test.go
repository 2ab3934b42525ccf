package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
)

// rawNPY assembles a .npy from a format version, a header text (used as is,
// without padding) and data bytes.
func rawNPY(major byte, hdr string, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString(magic)
	b.WriteByte(major)
	b.WriteByte(0)
	if major == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(len(hdr)))
	}
	b.WriteString(hdr)
	b.Write(data)
	return b.Bytes()
}

// dict returns a header dict for descr and shape text such as "(2, 3)".
func dict(descr, shape string) string {
	return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n"
}

// stream hides the concrete type of a reader so that Read cannot know its
// size and must work as it does on a network stream.
type stream struct{ r io.Reader }

func (s stream) Read(p []byte) (int, error) { return s.r.Read(p) }

// readBoth reads b as a *bytes.Reader (size known) and as a stream (size
// unknown) and fails the test unless both agree on success or the class of
// error. It returns the result of the first.
func readBoth(t testing.TB, b []byte, lim Limits) (*Array, error) {
	t.Helper()
	a1, err1 := Read(bytes.NewReader(b), lim)
	a2, err2 := Read(stream{bytes.NewReader(b)}, lim)
	if (err1 == nil) != (err2 == nil) || errClass(err1) != errClass(err2) {
		t.Fatalf("known size: %v; stream: %v", err1, err2)
	}
	if err1 == nil && !sameArray(a1, a2) {
		t.Fatalf("known size and stream read different arrays")
	}
	return a1, err1
}

// errClass names the sentinel err wraps: "format", "unsupported", "limit",
// "" for nil, "other" for none.
func errClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrFormat):
		return "format"
	case errors.Is(err, ErrUnsupported):
		return "unsupported"
	case errors.Is(err, ErrLimit):
		return "limit"
	}
	return "other"
}

// wantErr fails unless err is of the class and its message contains substr.
func wantErr(t testing.TB, err error, class, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s error containing %q", class, substr)
	}
	if got := errClass(err); got != class {
		t.Fatalf("error %q is of class %s, want %s", err, got, class)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error %q is not a single line", err)
	}
	if !strings.HasPrefix(err.Error(), "npy: ") {
		t.Fatalf("error %q does not start with \"npy: \"", err)
	}
}

// sameArray compares dtype, shape and data bit for bit (NaN equals NaN).
func sameArray(a, b *Array) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) || a.Len() != b.Len() {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	switch a.DType.storage() {
	case stU8:
		return bytes.Equal(a.U8, b.U8)
	case stI64:
		for i := range a.I64 {
			if a.I64[i] != b.I64[i] {
				return false
			}
		}
	case stU64:
		for i := range a.U64 {
			if a.U64[i] != b.U64[i] {
				return false
			}
		}
	case stF32:
		for i := range a.F32 {
			if math.Float32bits(a.F32[i]) != math.Float32bits(b.F32[i]) {
				return false
			}
		}
	case stF64:
		for i := range a.F64 {
			if math.Float64bits(a.F64[i]) != math.Float64bits(b.F64[i]) {
				return false
			}
		}
	}
	return true
}

// allocBytes returns the bytes f allocates on the heap.
func allocBytes(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}

// failingReader returns data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct {
	n   int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}
