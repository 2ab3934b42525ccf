// Package datasets reads the data advcheck attacks — IDX files (MNIST,
// Fashion-MNIST, EMNIST), NumPy .npy/.npz arrays, the binary CIFAR-10 and
// CIFAR-100 files, image folders and the embedded 1,000-image MNIST sample — as
// float32 C×H×W samples with integer labels, and identifies a data set by the
// SHA-256 of what it decoded, whatever file format it came from.
//
// Opening a data set reads its labels and checks its files, but holds no
// pixels: samples are read by index when they are needed (ReadSamples) —
// IDX, .npy and CIFAR by file offset, image folders by decoding only the
// images asked for — so memory follows the batch, not the data set. The
// hash (SHA256, or Check, which computes it in its pass over the samples)
// reads every sample once, a chunk at a time.
//
// Every reader checks sizes against Limits before allocating and refuses
// malformed files with an error naming the file and the problem.
//
//	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: 100})
//	sum, err := d.SHA256()
//	x, err := d.Samples(0, 10) // the first 10 samples, 10×1×28×28 values
package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"unsafe"
)

// Errors. ErrSpec is a bad data-set specification (a usage error);
// ErrBadData is a file that is unreadable, malformed or over a limit.
var (
	ErrSpec    = errors.New("bad data spec")
	ErrBadData = errors.New("bad data")
)

// Limits bound what a data set may make advcheck allocate.
type Limits struct {
	MaxBytes   int64 // bytes read from one file (after decompression)
	MaxSamples int   // samples in a data set
	// MaxElements bounds pixel values held at once: in an IDX, .npy or
	// .npz file, in CIFAR's kept samples, and in one image of a folder
	// (whose images are decoded one batch at a time, so that a folder has
	// no limit on its total).
	MaxElements int64
}

// DefaultLimits fit a laptop: 4 GiB per file, 10 million samples, 1<<30 values (4 GiB of float32).
func DefaultLimits() Limits {
	return Limits{MaxBytes: 4 << 30, MaxSamples: 10_000_000, MaxElements: 1 << 30}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxSamples <= 0 {
		l.MaxSamples = d.MaxSamples
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	return l
}

// Options control how a data set is read.
type Options struct {
	Limit  int    // keep only the first Limit samples (0 = all)
	Layout string // "", "nchw" or "nhwc": the layout of 4-D NumPy arrays ("" = the shape rule of OpenNPY)
	Shape  []int  // expected per-sample C, H, W (image folders need it; nil = read as stored)
	Limits Limits

	// Image folders only (see OpenFolder).
	ClassFile  string     // a class list in the model's output order (--classes FILE); "" = none
	Outputs    int        // the model's number of outputs, to check labels against; 0 = unknown
	Preprocess Preprocess // resize and centre crop (--resize, --center-crop); zero = none
	// Unlabelled lets a folder with no class sub-folders be read: its
	// images are the samples, all labelled 0 (for tasks that use no labels,
	// such as sweep --task embedding).
	Unlabelled bool
}

// File is a source file of a data set.
type File struct {
	Path   string
	SHA256 string // of the file's bytes as stored
	Bytes  int64
}

// Dataset is a data set of N samples of Shape (C×H×W) in pixel units after
// Scaling, and their labels. Its pixels are not held: they are read from
// its files by index (ReadSamples), a batch at a time, so memory follows the
// batch size and not the data set's. Labels are held (8 bytes a sample).
type Dataset struct {
	Spec    string
	Labels  []int
	Shape   []int    // per sample: C, H, W
	Classes []string // class names by label (image folders, CIFAR), or nil (also when a mapping leaves gaps)
	Scaling string   // how stored values became pixels, e.g. "uint8/255"
	// Decoder is the JPEG decoder that made the pixels (JPEGDecoder), ""
	// when no JPEG was read. For an image folder it is known once the
	// images were decoded by Check or SHA256.
	Decoder string
	// Files are the data set's files. An image folder lists one per sample
	// kept (after Options.Limit), whose SHA256 is filled in by Check or
	// SHA256, which read every image.
	Files  []File
	Folder *FolderInfo // how an image folder was labelled; nil for other formats
	// Preprocess is the resize and crop the images went through before
	// scaling (image folders); nil when none. The hash is of the pixels
	// after it, so the same folder preprocessed differently hashes differently.
	Preprocess *Preprocess
	Notes      []string // what a reader of the report should know about how the data were read

	src sampleReader

	mu   sync.Mutex
	hash string
	// fp holds a fingerprint of every sample's pixels, taken by the pass
	// that computed hash; ReadSamples checks what it reads against them, so
	// that the samples a run attacks are those the hash covers.
	fp     []uint64
	fpSeed maphash.Seed
}

// Len returns the number of samples.
func (d *Dataset) Len() int { return len(d.Labels) }

// Size returns the number of values per sample.
func (d *Dataset) Size() int {
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

// Label returns the label of sample i.
func (d *Dataset) Label(i int) int { return d.Labels[i] }

// ReadSamples writes the pixels of the samples idx, in that order, into dst
// (len(idx)·Size() values). Runs of consecutive indices are read together.
// Once the data were hashed (Check, SHA256), every sample read is checked
// against what was hashed: a file that changed in between is an ErrBadData
// error, never data the report's hash does not describe. It panics if dst
// has the wrong length or an index is out of range.
func (d *Dataset) ReadSamples(dst []float32, idx []int) error {
	size, n := d.Size(), d.Len()
	if len(dst) != len(idx)*size {
		panic(fmt.Sprintf("datasets: ReadSamples: %d values for %d samples of %d", len(dst), len(idx), size))
	}
	for a := 0; a < len(idx); {
		b := a + 1
		for b < len(idx) && idx[b] == idx[b-1]+1 {
			b++
		}
		if idx[a] < 0 || idx[b-1] >= n {
			panic(fmt.Sprintf("datasets: ReadSamples: samples %d…%d of %d", idx[a], idx[b-1], n))
		}
		if err := d.src.read(dst[a*size:b*size], idx[a], idx[b-1]+1); err != nil {
			return err
		}
		a = b
	}
	d.mu.Lock()
	fp, seed := d.fp, d.fpSeed
	d.mu.Unlock()
	if fp == nil {
		return nil
	}
	for j, i := range idx {
		if fingerprint(seed, dst[j*size:(j+1)*size]) != fp[i] {
			return fmt.Errorf("%w: %s: sample %d is not what it was when the data were hashed (its file changed during the run)", ErrBadData, d.sampleSource(i), i)
		}
	}
	return nil
}

// Samples returns the pixels of samples [lo, hi), read as ReadSamples reads
// them.
func (d *Dataset) Samples(lo, hi int) ([]float32, error) {
	idx := make([]int, hi-lo)
	for j := range idx {
		idx[j] = lo + j
	}
	x := make([]float32, len(idx)*d.Size())
	return x, d.ReadSamples(x, idx)
}

// Close releases the files a reader keeps open between reads (a gzip
// stream); the data set stays readable.
func (d *Dataset) Close() error {
	if d.src == nil {
		return nil
	}
	return d.src.close()
}

// HashHeader starts the byte layout a data set is hashed in: this line, then
// N, C, H, W as little-endian uint64 (ranks other than 3 write their own
// dimensions after N), then every pixel as little-endian float32 bits in
// N×C×H×W order, then every label as little-endian int64. The labels of an
// image folder are the output indices its class mapping gives (see
// OpenFolder), so the same images under another mapping hash differently.
// The pixels of a preprocessed image folder (Options.Preprocess) are those
// after resizing and cropping, so the preprocessing is part of the hash
// through the pixels it makes; no other field of it is hashed.
const HashHeader = "advcheck/dataset/v1\n"

// SHA256 returns the hex SHA-256 of the decoded samples and labels in the
// layout HashHeader documents: the same data read from IDX, NumPy or the
// embedded sample has the same hash. It covers exactly the samples kept
// after Options.Limit. The first call reads every sample once, a chunk at a
// time (see Check, which computes it in its pass); an unreadable sample or a
// value that is not finite is an ErrBadData error.
func (d *Dataset) SHA256() (string, error) {
	d.mu.Lock()
	h := d.hash
	d.mu.Unlock()
	if h != "" {
		return h, nil
	}
	if err := d.scan(nil); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hash, nil
}

// scanBytes is about how many pixel bytes a pass over the data holds.
const scanBytes = 4 << 20

// scan reads every sample once, in order and a chunk at a time, checks that
// its values are finite and passes it to check (when not nil), and computes
// the data set's hash and the samples' fingerprints.
func (d *Dataset) scan(check func(i int, x []float32) error) error {
	size, n := d.Size(), d.Len()
	h := sha256.New()
	h.Write([]byte(HashHeader))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
	for _, s := range d.Shape {
		binary.LittleEndian.PutUint64(b[:], uint64(s))
		h.Write(b[:])
	}
	seed := maphash.MakeSeed()
	fp := make([]uint64, n)
	chunk := max(1, min(n, scanBytes/4/max(size, 1)))
	x := make([]float32, chunk*size)
	var enc []byte
	if !littleEndian {
		enc = make([]byte, 4*len(x))
	}
	read := d.src.read
	if s, ok := d.src.(interface {
		readScan(dst []float32, lo, hi int) error
	}); ok {
		read = s.readScan
	}
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		xs := x[:(hi-lo)*size]
		if err := read(xs, lo, hi); err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			s := xs[(i-lo)*size : (i-lo+1)*size]
			for _, v := range s {
				if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
					return fmt.Errorf("%w: %s: sample %d holds %v", ErrBadData, d.sampleSource(i), i, v)
				}
			}
			if check != nil {
				if err := check(i, s); err != nil {
					return err
				}
			}
			fp[i] = fingerprint(seed, s)
		}
		if littleEndian {
			h.Write(float32Bytes(xs))
		} else {
			enc = enc[:0]
			for _, v := range xs {
				enc = binary.LittleEndian.AppendUint32(enc, math.Float32bits(v))
			}
			h.Write(enc)
		}
	}
	buf := make([]byte, 0, 1<<16)
	for _, l := range d.Labels {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(l)))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hash = hex.EncodeToString(h.Sum(nil))
	d.fp, d.fpSeed = fp, seed
	return nil
}

// fingerprint is a 64-bit hash of a sample's pixels, keyed per data set.
func fingerprint(seed maphash.Seed, x []float32) uint64 {
	return maphash.Bytes(seed, float32Bytes(x))
}

var littleEndian = func() bool {
	v := uint16(1)
	return *(*byte)(unsafe.Pointer(&v)) == 1
}()

// float32Bytes views x as its bytes in memory order.
func float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

func (d *Dataset) source() string {
	if len(d.Files) > 0 {
		return d.Files[0].Path
	}
	return d.Spec
}

// sampleSource names the file sample i came from.
func (d *Dataset) sampleSource(i int) string {
	if d.Folder != nil && i < len(d.Files) { // one file per sample: name the image
		return d.Files[i].Path
	}
	return d.source()
}

// Check validates the data against a model: per-sample shape, labels in
// [0, classes) (with classes 0, a task without classes: labels ≥ 0 only),
// values finite and within [lo, hi]. It reads every sample
// once and computes the data set's hash in the same pass (see SHA256).
func (d *Dataset) Check(shape []int, classes int, lo, hi float64) error {
	if !equalInts(shape, d.Shape) {
		hint := ""
		if len(shape) == 3 && len(d.Shape) == 3 && shape[0] == d.Shape[2] && shape[1] == d.Shape[0] && shape[2] == d.Shape[1] {
			hint = "; the data look like NHWC: try --layout nhwc for the data, or check the model's layout"
		}
		return fmt.Errorf("%w: %s: samples are %v, the model takes %v%s", ErrBadData, d.source(), d.Shape, shape, hint)
	}
	for i, l := range d.Labels {
		if classes <= 0 && l < 0 {
			return fmt.Errorf("%w: %s: label %d of sample %d is negative", ErrBadData, d.sampleSource(i), l, i)
		}
		if classes > 0 && (l < 0 || l >= classes) {
			return fmt.Errorf("%w: %s: label %d of sample %d is outside [0, %d) (the model has %d classes)", ErrBadData, d.sampleSource(i), l, i, classes, classes)
		}
	}
	return d.scan(func(i int, x []float32) error {
		for _, v := range x {
			if f := float64(v); f < lo || f > hi {
				hint := ""
				if hi <= 1 && f <= 255 && f > 1 {
					hint = "; values look like [0, 255]: use --bounds 0,255 (and --scale for the model) or scale the data"
				}
				return fmt.Errorf("%w: %s: sample %d holds %v, outside the model's bounds [%g, %g]%s", ErrBadData, d.source(), i, v, lo, hi, hint)
			}
		}
		return nil
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// limit keeps the first n samples.
func (d *Dataset) limit(n int) {
	if n <= 0 || n >= d.Len() {
		return
	}
	d.Labels = d.Labels[:n]
	if d.Folder != nil && len(d.Files) > n {
		d.Files = d.Files[:n]
	}
}
