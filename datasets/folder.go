package datasets

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png" // PNG decoder
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/advcheck/advcheck/internal/safeio"
)

// OpenFolder reads an image folder in the ImageFolder convention: one
// sub-folder per class, holding PNG or JPEG images.
//
// Labels are the model's output indices. They come from, in this order:
// Options.ClassFile (a class list, see ReadClassList); DIR/classes.json
// ({"folder name": output index}, which may name any subset of the model's
// outputs); DIR/classes.txt (a class list like ClassFile); else the sorted
// folder names numbered 0…k−1, as torchvision's ImageFolder does. With a
// mapping, every class folder must be in it. Without one, a number of
// folders other than Options.Outputs is reported in FolderInfo.CountWarning.
//
// Class folders and image files that are symbolic links are followed and
// recorded in FolderInfo; a dangling link or a link loop is an error.
// Hidden entries (names starting with '.', such as .DS_Store, AppleDouble
// ._* files and .git), Thumbs.db and desktop.ini are skipped and counted,
// as are plain files beside the class folders; any other file in a class
// folder that is not a .png, .jpg or .jpeg image is an error, as is a folder
// inside a class folder (advcheck does not recurse).
//
// Images are converted to Options.Shape's channel count (1: luma, ITU-R 601
// as PIL's "L"; 3: RGB; alpha dropped), preprocessed as Options.Preprocess
// says (resized and centre-cropped on their 8-bit channels, as torchvision
// does on PIL images) and scaled by 1/255. Without Options.Preprocess
// advcheck does not resize: an image whose size differs from Options.Shape
// is refused, because resizing changes what is being tested. Without
// Options.Shape the first image sets the size (after preprocessing), with 3
// channels if it is in colour and 1 if gray.
func OpenFolder(dir string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	info := &FolderInfo{ClassSource: ClassesFromFolders}
	classes, err := listClasses(dir, info)
	if err != nil {
		return nil, err
	}
	var cm *classMap
	switch {
	case len(classes) == 0 && opts.Unlabelled:
		// The images beside each other are the samples: the folder is one
		// unnamed class, and what listClasses skipped is listed again.
		*info = FolderInfo{ClassSource: ClassesNone}
		classes = []classDir{{name: "."}}
	case len(classes) == 0:
		return nil, fmt.Errorf("%w: %s: no class sub-folders (want one folder of images per class)", ErrBadData, dir)
	default:
		if cm, err = loadClassMap(dir, opts, info); err != nil {
			return nil, err
		}
	}
	if err := opts.Preprocess.Check(); err != nil {
		return nil, err
	}
	d := &Dataset{Scaling: "uint8/255", Folder: info}
	if !opts.Preprocess.IsZero() {
		pp := opts.Preprocess
		d.Preprocess = &pp
	}
	if info.ClassSource == ClassesNone {
		d.Notes = append(d.Notes, "no class sub-folders: the images are unlabelled (label 0 for all)")
	} else if cm == nil {
		for _, c := range classes {
			d.Classes = append(d.Classes, c.name)
		}
		info.CountWarning = countWarning(dir, d.Classes, opts.Outputs)
	} else {
		info.ClassSource, info.ClassFile, d.Classes = cm.source, cm.file, cm.names
	}
	var shape []int
	if len(opts.Shape) == 3 {
		shape = opts.Shape
	} else if opts.Shape != nil {
		return nil, fmt.Errorf("%w: %s: image folders need a C×H×W model input, the model takes %v", ErrBadData, dir, opts.Shape)
	}
	// Every folder's label is known before any image is decoded.
	labels := make([]int, len(classes))
	for k, class := range classes {
		labels[k] = k
		if cm != nil {
			if labels[k], err = cm.label(class.name); err != nil {
				return nil, err
			}
		}
	}
	// Listing reads no image: the images are decoded when they are read,
	// and only those kept (Options.Limit).
	var paths []string
	for k, class := range classes {
		label := labels[k]
		images, err := listImages(dir, class.name, info)
		if err != nil {
			return nil, err
		}
		if len(d.Labels)+len(images) > lim.MaxSamples {
			return nil, fmt.Errorf("%w: %s: more than %d images", ErrBadData, dir, lim.MaxSamples)
		}
		for _, path := range images {
			paths = append(paths, path)
			d.Labels = append(d.Labels, label)
		}
		info.Classes = append(info.Classes, ClassLabel{Folder: class.name, Label: label, Images: len(images), Symlink: class.target})
	}
	if len(d.Labels) == 0 {
		return nil, fmt.Errorf("%w: %s: the class folders hold no images", ErrBadData, dir)
	}
	sort.SliceStable(info.Classes, func(i, j int) bool { return info.Classes[i].Label < info.Classes[j].Label })
	if n := opts.Limit; n > 0 && n < len(paths) {
		paths, d.Labels = paths[:n], d.Labels[:n]
	}
	r := &folderReader{d: d, paths: paths, pp: opts.Preprocess, lim: lim}
	if shape == nil {
		// The first image sets the size: 3 channels if it is in colour.
		img, format, err := decodeImage(paths[0], lim)
		if err != nil {
			return nil, err
		}
		if format == "jpeg" {
			d.Decoder = JPEGDecoder
		}
		c := 3
		if isGray(img) {
			c = 1
		}
		w, h, err := opts.Preprocess.size(paths[0], img.Bounds().Dx(), img.Bounds().Dy(), c, lim)
		if err != nil {
			return nil, err
		}
		shape = []int{c, h, w}
	}
	d.Shape = append([]int(nil), shape...)
	r.c, r.h, r.w = shape[0], shape[1], shape[2]
	d.Files = make([]File, len(paths))
	for i, p := range paths {
		d.Files[i] = File{Path: p}
	}
	// The first image is decoded now, so that a folder of the wrong size is
	// refused when it is opened; the others are checked as they are read.
	if err := r.decode(make([]float32, d.Size()), 0, 1, true); err != nil {
		return nil, err
	}
	d.src = r
	return d, nil
}

// folderReader decodes the images of a folder as they are read, several at
// a time in parallel, in the order of their indices.
type folderReader struct {
	d       *Dataset // whose Files and Decoder the hashing pass fills in
	paths   []string
	c, h, w int
	pp      Preprocess
	lim     Limits
}

func (r *folderReader) read(dst []float32, lo, hi int) error {
	return r.decode(dst, lo, hi, false)
}

// readScan reads as read does, and records each image file's SHA-256 and
// whether a JPEG was decoded: the pass that hashes the data set reads every
// image once.
func (r *folderReader) readScan(dst []float32, lo, hi int) error {
	return r.decode(dst, lo, hi, true)
}

func (r *folderReader) close() error { return nil }

func (r *folderReader) decode(dst []float32, lo, hi int, record bool) error {
	size := r.c * r.h * r.w
	errs := make([]error, hi-lo)
	jpeg := make([]bool, hi-lo)
	each(hi-lo, func(j int) {
		path := r.paths[lo+j]
		img, format, err := decodeImage(path, r.lim)
		if err != nil {
			errs[j] = err
			return
		}
		jpeg[j] = format == "jpeg"
		b := img.Bounds()
		w, h, err := r.pp.size(path, b.Dx(), b.Dy(), r.c, r.lim)
		if err != nil {
			errs[j] = err
			return
		}
		if h != r.h || w != r.w {
			errs[j] = fmt.Errorf("%w: %s is %d×%d%s, the model takes %d×%d%s", ErrBadData, path, w, h, r.pp.after(b.Dx(), b.Dy()), r.w, r.h, r.pp.hint())
			return
		}
		u8Scaled(dst[j*size:(j+1)*size], r.pp.apply(planes8(img, r.c), r.c, b.Dx(), b.Dy()))
		if record {
			r.d.Files[lo+j] = fileHash(path)
		}
	})
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if record && slices.Contains(jpeg, true) {
		r.d.Decoder = JPEGDecoder
	}
	return nil
}

// each calls fn(j) for every j in [0, n) on up to GOMAXPROCS goroutines.
// Image decoding runs on its own goroutines, beside the compute workers of
// package parallel, so that the next batch decodes while one is attacked.
func each(n int, fn func(j int)) {
	k := min(runtime.GOMAXPROCS(0), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1)) - 1
				if j >= n {
					return
				}
				fn(j)
			}
		}()
	}
	wg.Wait()
}

// decodeImage decodes a PNG, or a JPEG as PIL does (see JPEGDecoder), and
// returns the format's name.
func decodeImage(path string, lim Limits) (image.Image, string, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadData, err)
	}
	defer f.Close()
	if img, ok, err := decodeJPEGFile(f, lim); ok || err != nil {
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
		}
		return img, "jpeg", nil
	}
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxImagePixels || int64(cfg.Width)*int64(cfg.Height)*3 > lim.MaxElements {
		return nil, "", fmt.Errorf("%w: %s: %d×%d pixels is over the limit", ErrBadData, path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadData, err)
	}
	img, format, err := image.Decode(f)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	return img, format, nil
}

func isGray(img image.Image) bool {
	switch img.ColorModel() {
	case color.GrayModel, color.Gray16Model:
		return true
	}
	return false
}

// planes8 returns an image's 8-bit channels as c planes (C×H×W): RGB, or
// for c = 1 the luma PIL's "L" conversion gives.
func planes8(img image.Image, c int) []uint8 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]uint8, c*h*w)
	gray, isGray := img.(*image.Gray)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			r8, g8, b8 := uint8(r>>8), uint8(g>>8), uint8(bl>>8)
			if c == 1 {
				// PIL's "L" conversion: ITU-R 601 weights in 16-bit fixed point.
				l := uint8((uint32(r8)*19595 + uint32(g8)*38470 + uint32(b8)*7471 + 0x8000) >> 16)
				if isGray {
					l = gray.GrayAt(b.Min.X+x, b.Min.Y+y).Y
				}
				out[y*w+x] = l
				continue
			}
			out[(0*h+y)*w+x] = r8
			out[(1*h+y)*w+x] = g8
			out[(2*h+y)*w+x] = b8
		}
	}
	return out
}

// appendPixels appends an image as C×H×W values in [0, 1].
func appendPixels(dst []float32, img image.Image, c int) []float32 {
	return appendScaled(dst, planes8(img, c))
}

// appendScaled appends 8-bit values scaled to [0, 1].
func appendScaled(dst []float32, v []uint8) []float32 {
	for _, b := range v {
		dst = append(dst, float32(b)/255)
	}
	return dst
}
