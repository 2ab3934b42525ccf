package npy

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadFileHeader and Header.Float32s read by offset what ReadFile and
// Array.Float32s read whole, for every dtype in both byte orders.
func TestHeaderFloat32sMatchArray(t *testing.T) {
	dir := t.TempDir()
	vals := []float64{0, 1, -2, 3.5, 127, -128, 255, 65504, -1e30, 1e-3, 123456789, math.Copysign(0, -1)}
	for _, dt := range []DType{Bool, Uint8, Int8, Int16, Uint16, Int32, Uint32, Int64, Uint64, Float16, Float32, Float64} {
		for _, order := range []byte{'<', '>'} {
			if dt.Size() == 1 && order == '>' {
				continue
			}
			size := dt.Size()
			raw := make([]byte, len(vals)*size)
			for i, v := range vals {
				put(raw[i*size:], dt, v, order == '>')
			}
			descr := string(order) + string(dt)
			if size == 1 {
				descr = "|" + string(dt)
			}
			path := filepath.Join(dir, strings.ReplaceAll(descr, "|", "_")+".npy")
			if err := os.WriteFile(path, rawNPY(1, dict(descr, "(3, 4)"), raw), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := ReadFile(path, Limits{})
			if err != nil {
				t.Fatalf("%s: %v", descr, err)
			}
			h, err := ReadFileHeader(path, Limits{})
			if err != nil {
				t.Fatalf("%s: %v", descr, err)
			}
			if h.DType != dt || h.BigEndian != (order == '>') || h.DataBytes != int64(len(raw)) || len(h.Shape) != 2 || h.Shape[0] != 3 || h.Shape[1] != 4 {
				t.Fatalf("%s: header %+v", descr, h)
			}
			file, _ := os.ReadFile(path)
			got := make([]float32, len(vals))
			h.Float32s(got, file[h.DataOffset:])
			want := a.Float32s()
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Errorf("%s: element %d is %v, ReadFile's %v", descr, i, got[i], want[i])
				}
			}
		}
	}
}

// put encodes v as one element of dt (converted as Go converts).
func put(b []byte, dt DType, v float64, big bool) {
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	switch dt {
	case Bool:
		b[0] = byte(uint8(int64(v)) & 3)
	case Uint8, Int8:
		b[0] = byte(int64(v))
	case Int16, Uint16:
		bo.PutUint16(b, uint16(int64(v)))
	case Float16:
		bo.PutUint16(b, float32ToHalf(float32(v)))
	case Int32, Uint32:
		bo.PutUint32(b, uint32(int64(v)))
	case Float32:
		bo.PutUint32(b, math.Float32bits(float32(v)))
	case Int64, Uint64:
		bo.PutUint64(b, uint64(int64(v)))
	case Float64:
		bo.PutUint64(b, math.Float64bits(v))
	}
}

// The header reader checks the file's length against the shape, as
// ReadFile does, without reading the data.
func TestReadFileHeaderErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"truncated", rawNPY(1, dict("<f4", "(3,)"), make([]byte, 11)), ErrFormat},
		{"trailing", rawNPY(1, dict("<f4", "(3,)"), make([]byte, 13)), ErrFormat},
		{"fortran", rawNPY(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", make([]byte, 12)), ErrUnsupported},
		{"over the limit", rawNPY(1, dict("<f4", "(100000, 100000)"), nil), ErrLimit},
	} {
		path := filepath.Join(dir, c.name+".npy")
		os.WriteFile(path, c.file, 0o644)
		if _, err := ReadFileHeader(path, Limits{}); errClass(err) != errClass(c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want %v naming the file", c.name, err, c.want)
		}
	}
}
