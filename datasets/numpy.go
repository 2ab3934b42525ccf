package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/internal/safeio"
)

func npyLimits(lim Limits) npy.Limits {
	return npy.Limits{MaxElements: lim.MaxElements, MaxFileBytes: lim.MaxBytes}
}

// fileHash hashes a file's bytes for the report's list of sources.
func fileHash(path string) File {
	f, err := safeio.Open(path)
	if err != nil {
		return File{Path: path}
	}
	defer f.Close()
	h := sha256.New()
	n, _ := io.Copy(h, f)
	return File{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: n}
}

// OpenNPY reads images from a .npy file and labels from another.
//
// Images: uint8 arrays are scaled by 1/255; float arrays are taken as stored
// and must be finite; other integer types are taken as stored. Shapes:
// N×H×W (one channel), N×C×H×W or N×H×W×C, or N×D (flat vectors). For 4-D
// arrays Options.Layout says which; without it the rule is: the last axis of
// size 1, 3 or 4 and axis 1 of another size mean NHWC, anything else NCHW.
// NHWC arrays are transposed to NCHW.
//
// Labels: an integer array (or floats holding integers) of N values (N or N×1).
func OpenNPY(images, labels string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	x, err := npy.ReadFile(images, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	y, err := npy.ReadFile(labels, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	d, err := fromArrays(x, y, images, labels, opts.Layout, lim)
	if err != nil {
		return nil, err
	}
	d.Files = []File{fileHash(images), fileHash(labels)}
	return d, nil
}

// OpenNPZ reads an .npz archive holding images and labels as members x and
// y (or images and labels, or X and Y), read as OpenNPY reads them.
func OpenNPZ(path string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	arrs, err := npy.ReadNPZFile(path, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	for _, pair := range [][2]string{{"x", "y"}, {"images", "labels"}, {"X", "Y"}} {
		x, okx := arrs[pair[0]]
		y, oky := arrs[pair[1]]
		if okx && oky {
			d, err := fromArrays(x, y, path+":"+pair[0], path+":"+pair[1], opts.Layout, lim)
			if err != nil {
				return nil, err
			}
			d.Files = []File{fileHash(path)}
			return d, nil
		}
	}
	var names []string
	for k := range arrs {
		names = append(names, k)
	}
	return nil, fmt.Errorf("%w: %s: no members x and y (or images and labels); it has %v", ErrBadData, path, names)
}

func fromArrays(x, y *npy.Array, xname, yname, layout string, lim Limits) (*Dataset, error) {
	d := &Dataset{}
	n := 0
	s := x.Shape
	switch len(s) {
	case 2:
		n, d.Shape = s[0], []int{s[1]}
	case 3:
		n, d.Shape = s[0], []int{1, s[1], s[2]}
	case 4:
		n = s[0]
		nhwc := layout == "nhwc"
		if layout == "" {
			nhwc = isChannels(s[3]) && !isChannels(s[1])
		}
		if nhwc {
			d.Shape = []int{s[3], s[1], s[2]}
		} else {
			d.Shape = []int{s[1], s[2], s[3]}
		}
		defer func() {
			if nhwc && d.X != nil {
				d.X = nhwcToNCHW(d.X, n, s[1], s[2], s[3])
			}
		}()
	default:
		return nil, fmt.Errorf("%w: %s: images have shape %v; want N×H×W, N×C×H×W, N×H×W×C or N×D", ErrBadData, xname, s)
	}
	if n > lim.MaxSamples {
		return nil, fmt.Errorf("%w: %s: %d samples, over the limit of %d", ErrBadData, xname, n, lim.MaxSamples)
	}
	switch x.DType {
	case npy.Uint8:
		d.X = make([]float32, len(x.U8))
		for i, v := range x.U8 {
			d.X[i] = float32(v) / 255
		}
		d.Scaling = "uint8/255"
	case npy.Bool:
		return nil, fmt.Errorf("%w: %s: boolean images are not supported", ErrBadData, xname)
	default:
		d.X = x.Float32s()
		d.Scaling = "as stored (" + string(x.DType) + ")"
		for i, v := range d.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				size := len(d.X) / max(n, 1)
				return nil, fmt.Errorf("%w: %s: sample %d holds %v", ErrBadData, xname, i/max(size, 1), v)
			}
		}
	}
	ys := y.Shape
	if !(len(ys) == 1 || (len(ys) == 2 && ys[1] == 1)) {
		return nil, fmt.Errorf("%w: %s: labels have shape %v; want N", ErrBadData, yname, ys)
	}
	if ys[0] != n {
		return nil, fmt.Errorf("%w: %s has %d images but %s has %d labels", ErrBadData, xname, n, yname, ys[0])
	}
	var labels []int64
	switch y.DType {
	case npy.Float16, npy.Float32, npy.Float64:
		for i, v := range y.Float64s() {
			if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
				return nil, fmt.Errorf("%w: %s: label %d is %v, not a class index", ErrBadData, yname, i, v)
			}
			labels = append(labels, int64(v))
		}
	default:
		var err error
		if labels, err = y.Int64s(); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadData, yname, err)
		}
	}
	d.Labels = make([]int, n)
	for i, v := range labels {
		if v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s: label %d is %d, not a class index", ErrBadData, yname, i, v)
		}
		d.Labels[i] = int(v)
	}
	return d, nil
}

func isChannels(c int) bool { return c == 1 || c == 3 || c == 4 }

func nhwcToNCHW(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for z := 0; z < w; z++ {
				for k := 0; k < c; k++ {
					out[((i*c+k)*h+y)*w+z] = x[((i*h+y)*w+z)*c+k]
				}
			}
		}
	}
	return out
}
