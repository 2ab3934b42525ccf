// Package datasets reads the data advcheck attacks — IDX files (MNIST,
// Fashion-MNIST, EMNIST), NumPy .npy/.npz arrays, the binary CIFAR-10 and
// CIFAR-100 files, image folders and the embedded 1,000-image MNIST sample — into float32 N×C×H×W pixels with
// integer labels, and identifies a data set by the SHA-256 of what it
// decoded, whatever file format it came from.
//
// Every reader checks sizes against Limits before allocating and refuses
// malformed files with an error naming the file and the problem.
//
//	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: 100})
//	fmt.Println(d.Len(), d.Shape, d.SHA256())
package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Errors. ErrSpec is a bad data-set specification (a usage error);
// ErrBadData is a file that is unreadable, malformed or over a limit.
var (
	ErrSpec    = errors.New("bad data spec")
	ErrBadData = errors.New("bad data")
)

// Limits bound what a data set may make advcheck allocate.
type Limits struct {
	MaxBytes    int64 // bytes read from one file (after decompression)
	MaxSamples  int   // samples in a data set
	MaxElements int64 // pixel values in a data set
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
}

// File is a source file of a data set.
type File struct {
	Path   string
	SHA256 string // of the file's bytes as stored
	Bytes  int64
}

// Dataset is decoded data: N samples of Shape (C×H×W) in pixel units after
// Scaling, and their labels.
type Dataset struct {
	Spec    string
	X       []float32 // N×C×H×W
	Labels  []int
	Shape   []int    // per sample: C, H, W
	Classes []string // class names by label (image folders, CIFAR), or nil (also when a mapping leaves gaps)
	Scaling string   // how stored values became pixels, e.g. "uint8/255"
	Decoder string   // the JPEG decoder that made the pixels (JPEGDecoder), "" when no JPEG was read
	Files   []File
	Folder  *FolderInfo // how an image folder was labelled; nil for other formats
	// Preprocess is the resize and crop the images went through before
	// scaling (image folders); nil when none. The hash is of the pixels
	// after it, so the same folder preprocessed differently hashes differently.
	Preprocess *Preprocess
	Notes      []string // what a reader of the report should know about how the data were read

	hashOnce sync.Once
	hash     string
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

// Sample returns the pixels of sample i.
func (d *Dataset) Sample(i int) []float32 {
	s := d.Size()
	return d.X[i*s : (i+1)*s]
}

// Label returns the label of sample i.
func (d *Dataset) Label(i int) int { return d.Labels[i] }

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
// after Options.Limit.
func (d *Dataset) SHA256() string {
	d.hashOnce.Do(func() {
		h := sha256.New()
		h.Write([]byte(HashHeader))
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(d.Len()))
		h.Write(b[:])
		for _, s := range d.Shape {
			binary.LittleEndian.PutUint64(b[:], uint64(s))
			h.Write(b[:])
		}
		buf := make([]byte, 0, 1<<16)
		for _, v := range d.X {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		buf = buf[:0]
		for _, l := range d.Labels {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(int64(l)))
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
		d.hash = hex.EncodeToString(h.Sum(nil))
	})
	return d.hash
}

func (d *Dataset) source() string {
	if len(d.Files) > 0 {
		return d.Files[0].Path
	}
	return d.Spec
}

// Check validates the data against a model: per-sample shape, labels in
// [0, classes), values finite and within [lo, hi].
func (d *Dataset) Check(shape []int, classes int, lo, hi float64) error {
	if !equalInts(shape, d.Shape) {
		hint := ""
		if len(shape) == 3 && len(d.Shape) == 3 && shape[0] == d.Shape[2] && shape[1] == d.Shape[0] && shape[2] == d.Shape[1] {
			hint = "; the data look like NHWC: try --layout nhwc for the data, or check the model's layout"
		}
		return fmt.Errorf("%w: %s: samples are %v, the model takes %v%s", ErrBadData, d.source(), d.Shape, shape, hint)
	}
	for i, l := range d.Labels {
		if l < 0 || l >= classes {
			src := d.source()
			if d.Folder != nil && i < len(d.Files) { // one file per sample: name the image
				src = d.Files[i].Path
			}
			return fmt.Errorf("%w: %s: label %d of sample %d is outside [0, %d) (the model has %d classes)", ErrBadData, src, l, i, classes, classes)
		}
	}
	size := d.Size()
	for i, v := range d.X {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %s: sample %d holds %v", ErrBadData, d.source(), i/size, v)
		}
		if f < lo || f > hi {
			hint := ""
			if hi <= 1 && f <= 255 && f > 1 {
				hint = "; values look like [0, 255]: use --bounds 0,255 (and --scale for the model) or scale the data"
			}
			return fmt.Errorf("%w: %s: sample %d holds %v, outside the model's bounds [%g, %g]%s", ErrBadData, d.source(), i/size, v, lo, hi, hint)
		}
	}
	return nil
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
	d.X = d.X[:n*d.Size()]
	d.Labels = d.Labels[:n]
}
