package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"strings"

	"github.com/advcheck/advcheck/internal/safeio"
)

// chunkBytes is how much data is read and decoded at a time.
const chunkBytes = 64 << 10

// Read reads one .npy array from r, which must hold nothing else: bytes after
// the array data are an error. Limits are checked before any memory is
// allocated for the data, and when the size of r is not known in advance
// (anything but a *bytes.Reader, *bytes.Buffer or *strings.Reader) memory
// grows only as data actually arrive, so a short input claiming a huge array
// costs little.
func Read(r io.Reader, lim Limits) (*Array, error) {
	lim = lim.withDefaults()
	size := int64(-1)
	switch r := r.(type) {
	case *bytes.Reader:
		size = int64(r.Len())
	case *bytes.Buffer:
		size = int64(r.Len())
	case *strings.Reader:
		size = int64(r.Len())
	}
	return readArray(r, lim, lim.MaxElements, size, size >= 0)
}

// ReadFile reads the .npy file at path. Errors name the path.
func ReadFile(path string, lim Limits) (*Array, error) {
	lim = lim.withDefaults()
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	a, err := readArray(f, lim, lim.MaxElements, size, size >= 0)
	if err != nil {
		return nil, withContext(err, path)
	}
	return a, nil
}

// readArray reads a .npy from r. maxElems bounds the elements of the array
// (in an .npz, what the earlier members left); size is the number of bytes
// r holds, or -1 if unknown: if known, the data length is checked against it
// before reading. prealloc says the data are known to be there (not just
// claimed), so that memory for all of them may be allocated at once;
// otherwise it grows as data arrive.
func readHeader(r io.Reader, lim Limits, maxElems, size int64) (*Header, error) {
	if size > lim.MaxFileBytes {
		return nil, errorf(ErrLimit, "file is %d bytes, limit is %d", size, lim.MaxFileBytes)
	}
	var pre [12]byte
	n, err := io.ReadFull(r, pre[:10])
	if n < len(magic) || string(pre[:len(magic)]) != magic {
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, ioError(err, "reading header")
		}
		if bytes.HasPrefix(pre[:n], []byte("PK\x03\x04")) || bytes.HasPrefix(pre[:n], []byte("PK\x05\x06")) {
			return nil, errorf(ErrFormat, "not a .npy file: this is a zip archive (an .npz)")
		}
		return nil, errorf(ErrFormat, "not a .npy file (bad magic)")
	}
	if err != nil {
		return nil, readErr(err, "truncated header")
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	prefix := 10
	switch {
	case major == 1 && minor == 0:
		hlen = int64(binary.LittleEndian.Uint16(pre[8:10]))
	case (major == 2 || major == 3) && minor == 0:
		if _, err := io.ReadFull(r, pre[10:12]); err != nil {
			return nil, readErr(err, "truncated header")
		}
		hlen = int64(binary.LittleEndian.Uint32(pre[8:12]))
		prefix = 12
	default:
		return nil, errorf(ErrUnsupported, "unsupported format version %d.%d", major, minor)
	}
	if hlen > int64(lim.MaxHeaderBytes) {
		return nil, errorf(ErrLimit, "header is %d bytes, limit is %d", hlen, lim.MaxHeaderBytes)
	}
	if size >= 0 && int64(prefix)+hlen > size {
		return nil, errorf(ErrFormat, "truncated header")
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, readErr(err, "truncated header")
	}
	h, err := parseHeader(hb, major == 1)
	if err != nil {
		return nil, err
	}
	dt, big, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	if h.fortran {
		return nil, errorf(ErrUnsupported, "Fortran-order arrays are not supported; save with np.ascontiguousarray")
	}
	elems, ok := shapeProduct(h.shape)
	if !ok || elems > maxElems {
		if maxElems < lim.MaxElements {
			return nil, errorf(ErrLimit, "shape %v exceeds the %d elements left of the limit of %d", h.shape, maxElems, lim.MaxElements)
		}
		return nil, errorf(ErrLimit, "shape %v exceeds the limit of %d elements", h.shape, lim.MaxElements)
	}
	itemsize := int64(dt.Size())
	if elems > (math.MaxInt64-int64(prefix)-hlen)/itemsize {
		return nil, errorf(ErrLimit, "shape %v is too large", h.shape)
	}
	want := elems * itemsize
	if total := int64(prefix) + hlen + want; total > lim.MaxFileBytes {
		return nil, errorf(ErrLimit, "array needs %d bytes, limit is %d", total, lim.MaxFileBytes)
	}
	if size >= 0 {
		have := size - int64(prefix) - hlen
		if have < want {
			return nil, truncated(want, have)
		}
		if have > want {
			return nil, errorf(ErrFormat, "%d bytes of trailing data after the array", have-want)
		}
	}

	return &Header{Shape: h.shape, DType: dt, BigEndian: big, DataOffset: int64(prefix) + hlen, DataBytes: want}, nil
}

func readArray(r io.Reader, lim Limits, maxElems, size int64, prealloc bool) (*Array, error) {
	h, err := readHeader(r, lim, maxElems, size)
	if err != nil {
		return nil, err
	}
	dt, big, want := h.DType, h.BigEndian, h.DataBytes
	itemsize := int64(dt.Size())
	elems := want / itemsize
	a := &Array{Shape: h.Shape, DType: dt}
	d := decoder{a: a, big: big, total: int(elems), prealloc: prealloc}
	buf := make([]byte, min(want, chunkBytes))
	for got := int64(0); got < want; {
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), want-got)])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, truncated(want, got+int64(k))
		}
		if err != nil {
			return nil, ioError(err, "reading data")
		}
		d.decode(buf[:k], int(got/itemsize))
		got += int64(k)
	}
	// The input must end here.
	var one [1]byte
	k, err := io.ReadFull(r, one[:])
	if k > 0 {
		return nil, errorf(ErrFormat, "trailing data after the array")
	}
	if err != io.EOF {
		return nil, ioError(err, "reading after the array")
	}
	return a, nil
}

func truncated(want, got int64) error {
	return errorf(ErrFormat, "truncated data: want %d bytes, got %d", want, got)
}

// readErr turns the end of the input into ErrFormat with message msg, and
// wraps any other read error as it is.
func readErr(err error, msg string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &inputError{kind: ErrFormat, msg: msg}
	}
	return ioError(err, "reading header")
}

// decoder converts raw element bytes into the data field of an Array.
type decoder struct {
	a        *Array
	big      bool // big-endian input
	total    int  // elements of the array
	prealloc bool // the data are known to be there: allocate them at once
}

// grow returns s with length n, reallocating by doubling up to total.
func grow[T any](s []T, n, total int, prealloc bool) []T {
	if n <= cap(s) {
		return s[:n]
	}
	c := total
	if !prealloc {
		c = min(total, max(n, 2*cap(s)))
	}
	t := make([]T, n, c)
	copy(t, s)
	return t
}

// decode converts raw, a whole number of elements, into the elements from
// index at on.
func (d *decoder) decode(raw []byte, at int) {
	a, big := d.a, d.big
	end := at + len(raw)/a.DType.Size()
	switch a.DType.storage() {
	case stU8:
		a.U8 = grow(a.U8, end, d.total, d.prealloc)
	case stI64:
		a.I64 = grow(a.I64, end, d.total, d.prealloc)
	case stU64:
		a.U64 = grow(a.U64, end, d.total, d.prealloc)
	case stF32:
		a.F32 = grow(a.F32, end, d.total, d.prealloc)
	case stF64:
		a.F64 = grow(a.F64, end, d.total, d.prealloc)
	}
	switch a.DType {
	case Bool:
		dst := a.U8[at:end]
		for i, b := range raw {
			dst[i] = min(b, 1)
		}
	case Uint8:
		copy(a.U8[at:end], raw)
	case Int8:
		dst := a.I64[at:end]
		for i, b := range raw {
			dst[i] = int64(int8(b))
		}
	case Int16:
		dst := a.I64[at:end]
		for i := range dst {
			dst[i] = int64(int16(u16(raw[2*i:], big)))
		}
	case Uint16:
		dst := a.I64[at:end]
		for i := range dst {
			dst[i] = int64(u16(raw[2*i:], big))
		}
	case Float16:
		dst := a.F32[at:end]
		for i := range dst {
			dst[i] = halfToFloat32(u16(raw[2*i:], big))
		}
	case Int32:
		dst := a.I64[at:end]
		for i := range dst {
			dst[i] = int64(int32(u32(raw[4*i:], big)))
		}
	case Uint32:
		dst := a.I64[at:end]
		for i := range dst {
			dst[i] = int64(u32(raw[4*i:], big))
		}
	case Float32:
		dst := a.F32[at:end]
		for i := range dst {
			dst[i] = math.Float32frombits(u32(raw[4*i:], big))
		}
	case Int64:
		dst := a.I64[at:end]
		for i := range dst {
			dst[i] = int64(u64(raw[8*i:], big))
		}
	case Uint64:
		dst := a.U64[at:end]
		for i := range dst {
			dst[i] = u64(raw[8*i:], big)
		}
	case Float64:
		dst := a.F64[at:end]
		for i := range dst {
			dst[i] = math.Float64frombits(u64(raw[8*i:], big))
		}
	}
}

func u16(b []byte, big bool) uint16 {
	if big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func u32(b []byte, big bool) uint32 {
	if big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func u64(b []byte, big bool) uint64 {
	if big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// openFile opens a regular file for reading; a pipe, a device or a
// directory is a format error, refused without waiting on it.
func openFile(path string) (*os.File, error) {
	f, err := safeio.Open(path)
	if errors.Is(err, safeio.ErrNotRegular) {
		return nil, errorf(ErrFormat, "%v", err)
	}
	if err != nil {
		return nil, &inputError{msg: err.Error(), err: err}
	}
	return f, nil
}
