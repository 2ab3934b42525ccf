package datasets

import (
	"fmt"
	"image"
	"image/color"
	_ "image/png" // PNG decoder
	"sort"

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
// as PIL's "L"; 3: RGB; alpha dropped) and scaled by 1/255. advcheck never
// resizes: an image whose size differs from Options.Shape is refused, because
// resizing changes what is being tested. Without Options.Shape the first
// image sets the size, with 3 channels if it is in colour and 1 if gray.
func OpenFolder(dir string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	info := &FolderInfo{ClassSource: ClassesFromFolders}
	classes, err := listClasses(dir, info)
	if err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%w: %s: no class sub-folders (want one folder of images per class)", ErrBadData, dir)
	}
	cm, err := loadClassMap(dir, opts, info)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Scaling: "uint8/255", Folder: info}
	if cm == nil {
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
	for k, class := range classes {
		label := labels[k]
		images, err := listImages(dir, class.name, info)
		if err != nil {
			return nil, err
		}
		for _, path := range images {
			if len(d.Labels) >= lim.MaxSamples {
				return nil, fmt.Errorf("%w: %s: more than %d images", ErrBadData, dir, lim.MaxSamples)
			}
			img, format, err := decodeImage(path, lim)
			if err != nil {
				return nil, err
			}
			if format == "jpeg" {
				d.Decoder = JPEGDecoder
			}
			b := img.Bounds()
			if shape == nil {
				c := 1
				if !isGray(img) {
					c = 3
				}
				shape = []int{c, b.Dy(), b.Dx()}
			}
			if b.Dy() != shape[1] || b.Dx() != shape[2] {
				return nil, fmt.Errorf("%w: %s is %d×%d, the model takes %d×%d (advcheck does not resize images)", ErrBadData, path, b.Dx(), b.Dy(), shape[2], shape[1])
			}
			if int64(len(d.X))+int64(shape[0]*shape[1]*shape[2]) > lim.MaxElements {
				return nil, fmt.Errorf("%w: %s: more than %d pixel values", ErrBadData, dir, lim.MaxElements)
			}
			d.X = appendPixels(d.X, img, shape[0])
			d.Labels = append(d.Labels, label)
			d.Files = append(d.Files, fileHash(path))
		}
		info.Classes = append(info.Classes, ClassLabel{Folder: class.name, Label: label, Images: len(images), Symlink: class.target})
	}
	if len(d.Labels) == 0 {
		return nil, fmt.Errorf("%w: %s: the class folders hold no images", ErrBadData, dir)
	}
	sort.SliceStable(info.Classes, func(i, j int) bool { return info.Classes[i].Label < info.Classes[j].Label })
	d.Shape = shape
	return d, nil
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

// appendPixels appends an image as C×H×W values in [0, 1].
func appendPixels(dst []float32, img image.Image, c int) []float32 {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	start := len(dst)
	dst = append(dst, make([]float32, c*h*w)...)
	out := dst[start:]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			r8, g8, b8 := float32(r>>8), float32(g>>8), float32(bl>>8)
			if c == 1 {
				// PIL's "L" conversion: ITU-R 601 weights in 16-bit fixed point.
				l := (uint32(r8)*19595 + uint32(g8)*38470 + uint32(b8)*7471 + 0x8000) >> 16
				if gray, ok := img.(*image.Gray); ok {
					l = uint32(gray.GrayAt(b.Min.X+x, b.Min.Y+y).Y)
				}
				out[y*w+x] = float32(l) / 255
				continue
			}
			out[(0*h+y)*w+x] = r8 / 255
			out[(1*h+y)*w+x] = g8 / 255
			out[(2*h+y)*w+x] = b8 / 255
		}
	}
	return dst
}
