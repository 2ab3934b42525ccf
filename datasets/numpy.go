package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"

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
//
// Only the images' header is read when the data set is opened; samples are
// read by offset as they are needed, so memory does not grow with N.
func OpenNPY(images, labels string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	xh, err := npy.ReadFileHeader(images, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	y, err := npy.ReadFile(labels, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	d, src, err := arrayDataset(xh, y, images, images, labels, opts.Layout, lim)
	if err != nil {
		return nil, err
	}
	d.src = src
	d.Files = []File{fileHash(images), fileHash(labels)}
	return d, nil
}

// arrayDataset makes the data set of the image array with header xh stored
// in the file path and the labels y (named xname and yname in errors), with
// a reader of the images by offset from xh.DataOffset.
func arrayDataset(xh *npy.Header, y *npy.Array, path, xname, yname, layout string, lim Limits) (*Dataset, *rawReader, error) {
	d, hwc, err := arrayShape(xh.Shape, xh.DType, xname, layout, lim)
	if err != nil {
		return nil, nil, err
	}
	if d.Labels, err = arrayLabels(y, d.Len(), xname, yname); err != nil {
		return nil, nil, err
	}
	esize := xh.DType.Size()
	conv := xh.Float32s
	if xh.DType == npy.Uint8 {
		conv = u8Scaled
	}
	size := d.Size()
	return d, &rawReader{path: path, off: xh.DataOffset, stride: int64(size * esize), elems: size, elemSize: esize, conv: conv, hwc: hwc}, nil
}

// OpenNPZ reads an .npz archive holding images and labels as members x and
// y (or images and labels, or X and Y), read as OpenNPY reads them. Only
// the members' headers and the labels are read when the data set is opened;
// images are read by offset when their member is stored (np.savez), and by
// decompressing forward when it is deflated (np.savez_compressed: going
// back to an earlier sample starts the member over), so memory does not
// grow with N either way. The zip CRC of the images member is not checked
// (it would need the whole member); the archive's SHA-256 in the report and
// the decoded-data hash cover its bytes and values.
func OpenNPZ(path string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	members, err := npy.ReadNPZMembers(path, npyLimits(lim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	for _, pair := range [][2]string{{"x", "y"}, {"images", "labels"}, {"X", "Y"}} {
		xh, okx := members[pair[0]]
		_, oky := members[pair[1]]
		if !okx || !oky {
			continue
		}
		xname, yname := path+":"+pair[0], path+":"+pair[1]
		y, err := npy.ReadNPZMember(path, pair[1], npyLimits(lim))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadData, err)
		}
		d, src, err := arrayDataset(&xh.Header, y, path, xname, yname, opts.Layout, lim)
		if err != nil {
			return nil, err
		}
		if xh.Deflated {
			src.deflate = &[2]int64{xh.Offset, xh.CompressedBytes}
		} else {
			src.off += xh.Offset
		}
		d.src = src
		d.Files = []File{fileHash(path)}
		return d, nil
	}
	var names []string
	for k := range members {
		names = append(names, k)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("%w: %s: no members x and y (or images and labels); it has %v", ErrBadData, path, names)
}

// arrayShape makes a data set (without labels or reader) for an image array
// of shape s and dtype dt: its sample shape, its scaling and, for an NHWC
// array, the H×W×C layout of a stored sample.
func arrayShape(s []int, dt npy.DType, xname, layout string, lim Limits) (d *Dataset, hwc []int, err error) {
	d = &Dataset{}
	n := 0
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
			hwc = []int{s[1], s[2], s[3]}
		} else {
			d.Shape = []int{s[1], s[2], s[3]}
		}
	default:
		return nil, nil, fmt.Errorf("%w: %s: images have shape %v; want N×H×W, N×C×H×W, N×H×W×C or N×D", ErrBadData, xname, s)
	}
	if n > lim.MaxSamples {
		return nil, nil, fmt.Errorf("%w: %s: %d samples, over the limit of %d", ErrBadData, xname, n, lim.MaxSamples)
	}
	switch dt {
	case npy.Uint8:
		d.Scaling = "uint8/255"
	case npy.Bool:
		return nil, nil, fmt.Errorf("%w: %s: boolean images are not supported", ErrBadData, xname)
	default:
		d.Scaling = "as stored (" + string(dt) + ")"
	}
	d.Labels = make([]int, n) // the count; arrayLabels fills them
	return d, hwc, nil
}

// arrayLabels reads n labels from y.
func arrayLabels(y *npy.Array, n int, xname, yname string) ([]int, error) {
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
	out := make([]int, n)
	for i, v := range labels {
		if v < 0 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s: label %d is %d, not a class index", ErrBadData, yname, i, v)
		}
		out[i] = int(v)
	}
	return out, nil
}

func isChannels(c int) bool { return c == 1 || c == 3 || c == 4 }
