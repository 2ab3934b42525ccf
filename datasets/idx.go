package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"os"

	"github.com/advcheck/advcheck/internal/safeio"
)

// idxArray is a decoded IDX file.
type idxArray struct {
	dims  []int
	kind  byte  // IDX element type
	total int64 // values
	// offset is where the values start: after the header's 4 + 4·len(dims) bytes.
	offset int64
	raw    []byte    // the values as stored (readIDX)
	u8     []uint8   // kind 0x08
	f      []float64 // other kinds, widened
}

var idxSizes = map[byte]int{0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}

// hashedFile opens path for reading with its SHA-256 computed as it is read,
// transparently gunzipping (detected by magic bytes), and at most lim bytes
// of decompressed content.
type hashedFile struct {
	f    *os.File
	h    hash.Hash
	r    io.Reader
	path string
	size int64
	gz   bool // the file is gzip-compressed; r reads it decompressed
}

func openHashed(path string, lim int64) (*hashedFile, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a directory", ErrBadData, path)
	}
	hf := &hashedFile{f: f, h: sha256.New(), path: path, size: st.Size()}
	br := bufio.NewReader(io.TeeReader(f, hf.h))
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: bad gzip header: %v", ErrBadData, path, err)
		}
		r = zr
		hf.gz = true
	}
	hf.r = io.LimitReader(r, lim+1)
	return hf, nil
}

// finish drains the raw file into the hash and closes it.
func (hf *hashedFile) finish() File {
	io.Copy(hf.h, hf.f)
	hf.f.Close()
	return File{Path: hf.path, SHA256: hex.EncodeToString(hf.h.Sum(nil)), Bytes: hf.size}
}

// readIDXHeader reads an IDX header and checks its dimensions against the
// limits; the values follow it.
func readIDXHeader(r io.Reader, name string, maxElems int64, maxBytes int64) (*idxArray, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("%w: %s: truncated: no IDX header", ErrBadData, name)
	}
	if head[0] != 0 || head[1] != 0 {
		return nil, fmt.Errorf("%w: %s: not an IDX file (magic %02x%02x%02x%02x)", ErrBadData, name, head[0], head[1], head[2], head[3])
	}
	size, ok := idxSizes[head[2]]
	if !ok {
		return nil, fmt.Errorf("%w: %s: unknown IDX element type 0x%02x", ErrBadData, name, head[2])
	}
	nd := int(head[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%w: %s: IDX files of %d dimensions are not supported", ErrBadData, name, nd)
	}
	dimBytes := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, dimBytes); err != nil {
		return nil, fmt.Errorf("%w: %s: truncated header", ErrBadData, name)
	}
	a := &idxArray{kind: head[2], offset: int64(4 + 4*nd)}
	total := int64(1)
	for i := 0; i < nd; i++ {
		d := int64(binary.BigEndian.Uint32(dimBytes[4*i:]))
		a.dims = append(a.dims, int(d))
		if d > 0 && total > math.MaxInt64/d {
			return nil, fmt.Errorf("%w: %s: dimensions %v overflow", ErrBadData, name, a.dims)
		}
		total *= d
	}
	if total > maxElems || total*int64(size) > maxBytes {
		return nil, fmt.Errorf("%w: %s: the header declares %v = %d values, over the limit of %d", ErrBadData, name, a.dims, total, maxElems)
	}
	a.total = total
	return a, nil
}

// readIDX decodes one IDX stream. lim bounds the elements it may hold.
func readIDX(r io.Reader, name string, maxElems int64, maxBytes int64) (*idxArray, error) {
	a, err := readIDXHeader(r, name, maxElems, maxBytes)
	if err != nil {
		return nil, err
	}
	total, size := a.total, idxSizes[a.kind]
	want := total * int64(size)
	// Read in chunks so a header that lies about the size costs no more
	// memory than the data actually present.
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, want)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadData, name, err)
	}
	if n < want {
		return nil, fmt.Errorf("%w: %s: truncated: the header says %v (%d bytes of data), the file holds %d", ErrBadData, name, a.dims, want, n)
	}
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k > 0 {
		return nil, fmt.Errorf("%w: %s: data after the %d values the header declares", ErrBadData, name, total)
	}
	b := buf.Bytes()
	a.raw = b
	switch a.kind {
	case 0x08:
		a.u8 = b
	default:
		a.f = make([]float64, total)
		for i := range a.f {
			switch a.kind {
			case 0x09:
				a.f[i] = float64(int8(b[i]))
			case 0x0B:
				a.f[i] = float64(int16(binary.BigEndian.Uint16(b[2*i:])))
			case 0x0C:
				a.f[i] = float64(int32(binary.BigEndian.Uint32(b[4*i:])))
			case 0x0D:
				a.f[i] = float64(math.Float32frombits(binary.BigEndian.Uint32(b[4*i:])))
			case 0x0E:
				a.f[i] = math.Float64frombits(binary.BigEndian.Uint64(b[8*i:]))
			}
		}
	}
	return a, nil
}

// skipIDXValues reads past the values an IDX header declares, checking
// that the stream holds exactly them.
func skipIDXValues(r io.Reader, a *idxArray, name string) error {
	want := a.total * int64(idxSizes[a.kind])
	n, err := io.CopyN(io.Discard, r, want)
	if err != nil && err != io.EOF {
		return fmt.Errorf("%w: %s: %v", ErrBadData, name, err)
	}
	if n < want {
		return fmt.Errorf("%w: %s: truncated: the header says %v (%d bytes of data), the file holds %d", ErrBadData, name, a.dims, want, n)
	}
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k > 0 {
		return fmt.Errorf("%w: %s: data after the %d values the header declares", ErrBadData, name, a.total)
	}
	return nil
}

// OpenIDX reads IDX images (N×H×W or N×C×H×W; uint8 scaled by 1/255, other
// types as stored) and labels (N integers), each plain or gzip. The images
// are read through once to hash the file and check its size; samples are
// then read by offset (gzip files: decompressed forward) as they are needed.
func OpenIDX(images, labels string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	hi, err := openHashed(images, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	ia, err := readIDXHeader(hi.r, images, lim.MaxElements, lim.MaxBytes)
	if err == nil {
		err = skipIDXValues(hi.r, ia, images)
	}
	gz := hi.gz
	fi := hi.finish()
	if err != nil {
		return nil, err
	}
	hl, err := openHashed(labels, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	la, err := readIDX(hl.r, labels, int64(lim.MaxSamples), lim.MaxBytes)
	fl := hl.finish()
	if err != nil {
		return nil, err
	}
	d, err := fromIDX(ia, la, images, labels, lim)
	if err != nil {
		return nil, err
	}
	r := d.src.(*rawReader)
	r.path, r.gz = images, gz
	d.Files = []File{fi, fl}
	return d, nil
}

// idxConv converts stored IDX values of a kind into float32 pixels: uint8
// scaled by 1/255, other kinds as stored (big-endian).
func idxConv(kind byte) func(dst []float32, raw []byte) {
	switch kind {
	case 0x09:
		return func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = float32(int8(raw[i]))
			}
		}
	case 0x0B:
		return func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = float32(int16(binary.BigEndian.Uint16(raw[2*i:])))
			}
		}
	case 0x0C:
		return func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = float32(int32(binary.BigEndian.Uint32(raw[4*i:])))
			}
		}
	case 0x0D:
		return func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
			}
		}
	case 0x0E:
		return func(dst []float32, raw []byte) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(binary.BigEndian.Uint64(raw[8*i:])))
			}
		}
	}
	return u8Scaled
}

// fromIDX makes a data set of IDX images (ia: its header, and its values
// when they are in memory) and labels (la, read whole). Its reader reads
// from ia.raw; OpenIDX points it at the file instead.
func fromIDX(ia, la *idxArray, images, labels string, lim Limits) (*Dataset, error) {
	if len(ia.dims) != 3 && len(ia.dims) != 4 {
		return nil, fmt.Errorf("%w: %s: images are %v; want N×H×W or N×C×H×W", ErrBadData, images, ia.dims)
	}
	if len(la.dims) != 1 {
		return nil, fmt.Errorf("%w: %s: labels are %v; want one dimension", ErrBadData, labels, la.dims)
	}
	n := ia.dims[0]
	if la.dims[0] != n {
		return nil, fmt.Errorf("%w: %s has %d images but %s has %d labels", ErrBadData, images, n, labels, la.dims[0])
	}
	if n > lim.MaxSamples {
		return nil, fmt.Errorf("%w: %s: %d samples, over the limit of %d", ErrBadData, images, n, lim.MaxSamples)
	}
	d := &Dataset{Shape: append([]int{1}, ia.dims[1:]...)}
	if len(ia.dims) == 4 {
		d.Shape = append([]int(nil), ia.dims[1:]...)
	}
	d.Scaling = "uint8/255"
	if ia.kind != 0x08 {
		d.Scaling = "as stored"
	}
	size, esize := d.Size(), idxSizes[ia.kind]
	d.src = &rawReader{mem: ia.raw, stride: int64(size * esize), elems: size, elemSize: esize, conv: idxConv(ia.kind)}
	if ia.raw == nil {
		d.src.(*rawReader).off = ia.offset
	}
	d.Labels = make([]int, n)
	for i := 0; i < n; i++ {
		var v float64
		if la.kind == 0x08 {
			v = float64(la.u8[i])
		} else {
			v = la.f[i]
		}
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s: label %d is %v, not a class index", ErrBadData, labels, i, v)
		}
		d.Labels[i] = int(v)
	}
	return d, nil
}
