package datasets

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoder
	_ "image/png"  // PNG decoder
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// OpenFolder reads an image folder in the ImageFolder convention: one
// sub-folder per class, holding PNG or JPEG images. Classes are the sorted
// sub-folder names, unless the root has classes.txt (one class name per line,
// in index order) or classes.json ({"name": index}). Hidden files are skipped;
// any other file is an error.
//
// Images are converted to Options.Shape's channel count (1: luma, ITU-R 601
// as PIL's "L"; 3: RGB; alpha dropped) and scaled by 1/255. advcheck never
// resizes: an image whose size differs from Options.Shape is refused, because
// resizing changes what is being tested. Without Options.Shape the first
// image sets the size, with 3 channels if it is in colour and 1 if gray.
func OpenFolder(dir string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	var classes []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	sort.Strings(classes)
	index, err := classIndex(dir, classes)
	if err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("%w: %s: no class sub-folders (want one folder of images per class)", ErrBadData, dir)
	}
	names := make([]string, len(index))
	for name, i := range index {
		names[i] = name
	}
	d := &Dataset{Classes: names, Scaling: "uint8/255"}
	var shape []int
	if len(opts.Shape) == 3 {
		shape = opts.Shape
	} else if opts.Shape != nil {
		return nil, fmt.Errorf("%w: %s: image folders need a C×H×W model input, the model takes %v", ErrBadData, dir, opts.Shape)
	}
	for _, class := range classes {
		sub := filepath.Join(dir, class)
		files, err := os.ReadDir(sub)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadData, err)
		}
		for _, f := range files {
			name := f.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			path := filepath.Join(sub, name)
			ext := strings.ToLower(filepath.Ext(name))
			if f.IsDir() || (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
				return nil, fmt.Errorf("%w: %s: not a PNG or JPEG image", ErrBadData, path)
			}
			if len(d.Labels) >= lim.MaxSamples {
				return nil, fmt.Errorf("%w: %s: more than %d images", ErrBadData, dir, lim.MaxSamples)
			}
			img, err := decodeImage(path, lim)
			if err != nil {
				return nil, err
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
			d.Labels = append(d.Labels, index[class])
			d.Files = append(d.Files, fileHash(path))
		}
	}
	if len(d.Labels) == 0 {
		return nil, fmt.Errorf("%w: %s: the class folders hold no images", ErrBadData, dir)
	}
	d.Shape = shape
	return d, nil
}

// classIndex reads the optional mapping file, else numbers the sorted folders.
func classIndex(dir string, folders []string) (map[string]int, error) {
	index := map[string]int{}
	if b, err := os.ReadFile(filepath.Join(dir, "classes.json")); err == nil {
		if err := json.Unmarshal(b, &index); err != nil {
			return nil, fmt.Errorf("%w: %s/classes.json: %v", ErrBadData, dir, err)
		}
	} else if b, err := os.ReadFile(filepath.Join(dir, "classes.txt")); err == nil {
		i := 0
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				if _, dup := index[line]; dup {
					return nil, fmt.Errorf("%w: %s/classes.txt: class %q twice", ErrBadData, dir, line)
				}
				index[line] = i
				i++
			}
		}
	} else {
		for i, f := range folders {
			index[f] = i
		}
		return index, nil
	}
	seen := map[int]string{}
	for name, i := range index {
		if i < 0 || i >= len(index) {
			return nil, fmt.Errorf("%w: %s: class %q has index %d; indices must be 0…%d", ErrBadData, dir, name, i, len(index)-1)
		}
		if other, dup := seen[i]; dup {
			return nil, fmt.Errorf("%w: %s: classes %q and %q share index %d", ErrBadData, dir, name, other, i)
		}
		seen[i] = name
	}
	for _, f := range folders {
		if _, ok := index[f]; !ok {
			return nil, fmt.Errorf("%w: %s: folder %q is not in the class mapping", ErrBadData, dir, f)
		}
	}
	return index, nil
}

func decodeImage(path string, lim Limits) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > 1<<26 || int64(cfg.Width)*int64(cfg.Height)*3 > lim.MaxElements {
		return nil, fmt.Errorf("%w: %s: %d×%d pixels is over the limit", ErrBadData, path, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadData, path, err)
	}
	return img, nil
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
