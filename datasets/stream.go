package datasets

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/advcheck/advcheck/internal/safeio"
)

// sampleReader reads decoded samples by index, so that a data set is held
// one batch at a time and never whole.
type sampleReader interface {
	// read writes samples [lo, hi) into dst, (hi−lo)·size values.
	read(dst []float32, lo, hi int) error
	// close releases what the reader keeps open between reads.
	close() error
}

// maxReadBytes bounds the raw bytes one read holds at a time.
const maxReadBytes = 4 << 20

// rawReader reads fixed-size records of stored values: from a file by
// offset (IDX, .npy, CIFAR, a stored .npz member), from a gzip-compressed
// file or a deflated .npz member by decompressing forward (reopening it to go
// back), or from memory (the embedded sample).
type rawReader struct {
	path     string // the file, or "" when mem holds the data
	mem      []byte // the decompressed data, from off on
	gz       bool   // path is gzip-compressed
	off      int64  // where sample 0's record starts (in the decompressed stream)
	stride   int64  // bytes from one record to the next
	skip     int64  // bytes at the start of a record before its values (CIFAR's labels)
	elems    int    // values per sample
	elemSize int    // bytes per stored value
	// deflate, when not nil, locates a raw DEFLATE stream inside path (an
	// .npz member): its offset and compressed length. It is read forward
	// like a gzip file.
	deflate *[2]int64
	// conv converts elems stored values into float32 pixels.
	conv func(dst []float32, raw []byte)
	// hwc, when not nil, is the stored H×W×C layout of a sample, transposed
	// to C×H×W on reading.
	hwc []int

	mu     sync.Mutex
	stream *gzStream // the open gzip stream, or nil
}

// gzStream is a gzip file read forward; pos is the decompressed offset.
type gzStream struct {
	f   *os.File
	r   *bufio.Reader
	pos int64
}

func (r *rawReader) read(dst []float32, lo, hi int) error {
	if hi <= lo {
		return nil
	}
	rec := int(r.stride)
	per := max(1, min(hi-lo, maxReadBytes/max(rec, 1)))
	buf := make([]byte, per*rec)
	var tmp []float32
	if r.hwc != nil {
		tmp = make([]float32, r.elems)
	}
	for a := lo; a < hi; a += per {
		b := min(a+per, hi)
		raw := buf[:(b-a)*rec]
		if err := r.fetch(raw, r.off+int64(a)*r.stride); err != nil {
			return err
		}
		for j := a; j < b; j++ {
			vals := raw[(j-a)*rec+int(r.skip):][:r.elems*r.elemSize]
			out := dst[(j-lo)*r.elems : (j-lo+1)*r.elems]
			if r.hwc == nil {
				r.conv(out, vals)
				continue
			}
			r.conv(tmp, vals)
			hwcToCHW(out, tmp, r.hwc[0], r.hwc[1], r.hwc[2])
		}
	}
	return nil
}

// fetch fills p with the bytes at offset off of the (decompressed) data.
func (r *rawReader) fetch(p []byte, off int64) error {
	switch {
	case r.path == "":
		if off < 0 || off+int64(len(p)) > int64(len(r.mem)) {
			return fmt.Errorf("%w: embedded data: record at %d out of range", ErrBadData, off)
		}
		copy(p, r.mem[off:])
		return nil
	case r.gz || r.deflate != nil:
		return r.fetchGzip(p, off)
	}
	f, err := safeio.Open(r.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadData, err)
	}
	defer f.Close()
	if n, err := f.ReadAt(p, off); n < len(p) {
		return fmt.Errorf("%w: %s: %d bytes at offset %d could not be read (the file shrank after it was opened): %v", ErrBadData, r.path, len(p), off, err)
	}
	return nil
}

func (r *rawReader) fetchGzip(p []byte, off int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stream != nil && r.stream.pos > off {
		r.closeStream()
	}
	if r.stream == nil {
		f, err := safeio.Open(r.path)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadData, err)
		}
		var zr io.Reader
		if r.deflate != nil {
			zr = flate.NewReader(bufio.NewReader(io.NewSectionReader(f, r.deflate[0], r.deflate[1])))
		} else {
			gr, err := gzip.NewReader(bufio.NewReader(f))
			if err != nil {
				f.Close()
				return fmt.Errorf("%w: %s: bad gzip header: %v", ErrBadData, r.path, err)
			}
			zr = gr
		}
		r.stream = &gzStream{f: f, r: bufio.NewReaderSize(zr, 1<<16)}
	}
	s := r.stream
	if _, err := s.r.Discard(int(off - s.pos)); err != nil {
		r.closeStream()
		return fmt.Errorf("%w: %s: truncated before offset %d (the file changed after it was opened): %v", ErrBadData, r.path, off, err)
	}
	s.pos = off
	n, err := io.ReadFull(s.r, p)
	s.pos += int64(n)
	if err != nil {
		r.closeStream()
		return fmt.Errorf("%w: %s: truncated at offset %d (the file changed after it was opened): %v", ErrBadData, r.path, off, err)
	}
	return nil
}

func (r *rawReader) closeStream() {
	if r.stream != nil {
		r.stream.f.Close()
		r.stream = nil
	}
}

func (r *rawReader) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeStream()
	return nil
}

// hwcToCHW writes an H×W×C sample as C×H×W.
func hwcToCHW(dst, src []float32, h, w, c int) {
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for k := 0; k < c; k++ {
				dst[(k*h+y)*w+x] = src[(y*w+x)*c+k]
			}
		}
	}
}

// u8Scaled converts bytes to pixels in [0, 1].
func u8Scaled(dst []float32, raw []byte) {
	for i, v := range raw {
		dst[i] = float32(v) / 255
	}
}
