package datasets

import (
	"fmt"
	"math"
)

// ResizeFilter names the resampling --resize does, for the report.
const ResizeFilter = "bilinear-antialias (PIL)"

// MaxPreprocessSize bounds the sizes --resize and --center-crop may ask for.
const MaxPreprocessSize = 1 << 15

// Preprocess is the standard preprocessing of an image folder, applied to
// each decoded image's 8-bit channels before they are scaled to [0, 1]:
// first Resize, then CenterCrop, as torchvision's
// Compose([Resize(N), CenterCrop((H, W))]) on PIL images.
type Preprocess struct {
	// Resize scales the shorter side to Resize pixels and the longer one to
	// int(Resize·long/short), as torchvision's Resize(N) does, with PIL's
	// antialiased bilinear filter (see ResizeBilinear); 0 = no resize.
	Resize int
	// CenterCrop is the H, W of the centre crop; nil = no crop.
	CenterCrop []int
}

// IsZero tells whether p changes nothing.
func (p Preprocess) IsZero() bool { return p.Resize == 0 && p.CenterCrop == nil }

// Check validates the sizes; a bad one is a usage error (ErrSpec).
func (p Preprocess) Check() error {
	if p.Resize < 0 || p.Resize > MaxPreprocessSize {
		return fmt.Errorf("%w: resize %d: want 1 to %d", ErrSpec, p.Resize, MaxPreprocessSize)
	}
	if p.CenterCrop != nil {
		if len(p.CenterCrop) != 2 {
			return fmt.Errorf("%w: center crop %v: want H,W", ErrSpec, p.CenterCrop)
		}
		for _, s := range p.CenterCrop {
			if s < 1 || s > MaxPreprocessSize {
				return fmt.Errorf("%w: center crop %d×%d: want sizes from 1 to %d", ErrSpec, p.CenterCrop[0], p.CenterCrop[1], MaxPreprocessSize)
			}
		}
	}
	return nil
}

// ResizedSize returns the width and height torchvision's Resize(n) gives a
// w×h image: the shorter side becomes n, the longer int(n·long/short)
// (Python's true division, then truncation).
func ResizedSize(w, h, n int) (nw, nh int) {
	short, long := w, h
	if w > h {
		short, long = h, w
	}
	newLong := int(float64(n*long) / float64(short))
	if w <= h {
		return n, newLong
	}
	return newLong, n
}

// CenterCropOffset returns torchvision's offset of a crop of size c in a
// side of size s: int(round((s − c) / 2.0)), Python's round halving to even.
func CenterCropOffset(s, c int) int {
	return int(math.RoundToEven(float64(s-c) / 2.0))
}

// precisionBits is the fixed-point precision of PIL's 8-bit resampling:
// weights are integers scaled by 2^22, so a sum of 255·2^22 fits an int32.
const precisionBits = 32 - 8 - 2

// resampleCoeffs are the fixed-point filter weights of one axis: output
// index i reads input indices first[i] … first[i]+len(weights[i])−1.
type resampleCoeffs struct {
	first   []int
	weights [][]int32
}

// bilinearCoeffs computes the weights of PIL's bilinear (triangle) filter
// resampling inSize pixels to outSize. When shrinking, the triangle is
// widened by the scale factor, which is the antialiasing. The arithmetic
// follows PIL's definition step by step in float64 (explicit float64
// conversions keep the compiler from fusing multiply-adds), so weights
// round to the same integers as PIL's.
func bilinearCoeffs(inSize, outSize int) resampleCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1.0)
	support := 1.0 * filterScale // the triangle's support is 1 pixel
	c := resampleCoeffs{first: make([]int, outSize), weights: make([][]int32, outSize)}
	ss := 1.0 / filterScale
	var w []float64
	for i := range outSize {
		center := float64((float64(i) + 0.5) * scale)
		lo := int(center - support + 0.5) // truncation, as C's (int)
		lo = max(lo, 0)
		hi := min(int(center+support+0.5), inSize)
		w = w[:0]
		var sum float64
		for x := lo; x < hi; x++ {
			t := math.Abs(float64((float64(x) - center + 0.5) * ss))
			v := 0.0
			if t < 1 {
				v = 1 - t
			}
			w = append(w, v)
			sum += v
		}
		k := make([]int32, len(w))
		for j, v := range w {
			if sum != 0 {
				v /= sum
			}
			// Weights are never negative for the triangle: round half up.
			k[j] = int32(0.5 + float64(v*(1<<precisionBits)))
		}
		c.first[i], c.weights[i] = lo, k
	}
	return c
}

// clip8 turns a fixed-point sum back into a byte, clamped to 0…255.
func clip8(s int32) uint8 {
	v := s >> precisionBits
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// ResizeBilinear resizes planes, c planes of w×h bytes (C×H×W), to nw×nh
// as PIL's Image.resize((nw, nh), Image.BILINEAR) does: separable, the
// horizontal pass first with its result rounded to bytes, then the
// vertical pass; an axis whose size does not change is not resampled.
// It returns the c×nh×nw result. It panics if len(planes) != c·w·h or a
// size is not positive.
func ResizeBilinear(planes []uint8, c, w, h, nw, nh int) []uint8 {
	if c < 1 || w < 1 || h < 1 || nw < 1 || nh < 1 || len(planes) != c*w*h {
		panic(fmt.Sprintf("datasets: ResizeBilinear of %d bytes as %d×%d×%d to %d×%d", len(planes), c, h, w, nh, nw))
	}
	src := planes
	if nw != w {
		k := bilinearCoeffs(w, nw)
		dst := make([]uint8, c*h*nw)
		for p := range c * h { // every row of every plane
			in, out := src[p*w:(p+1)*w], dst[p*nw:(p+1)*nw]
			for i := range nw {
				wts := k.weights[i]
				px := in[k.first[i] : k.first[i]+len(wts)]
				s := int32(1 << (precisionBits - 1))
				for j, wt := range wts {
					s += int32(px[j]) * wt
				}
				out[i] = clip8(s)
			}
		}
		src, w = dst, nw
	}
	if nh != h {
		k := bilinearCoeffs(h, nh)
		dst := make([]uint8, c*nh*w)
		acc := make([]int32, w)
		for ch := range c {
			in := src[ch*h*w : (ch+1)*h*w]
			for i := range nh {
				for x := range acc {
					acc[x] = 1 << (precisionBits - 1)
				}
				for j, wt := range k.weights[i] {
					row := in[(k.first[i]+j)*w : (k.first[i]+j+1)*w]
					acc := acc[:len(row)]
					for x, v := range row {
						acc[x] += int32(v) * wt
					}
				}
				out := dst[(ch*nh+i)*w : (ch*nh+i+1)*w]
				for x, s := range acc {
					out[x] = clip8(s)
				}
			}
		}
		src = dst
	}
	return src
}

// CenterCrop returns the centred ch×cw window of planes (c planes of w×h
// bytes) at torchvision's offsets (see CenterCropOffset). It panics if the
// window is larger than the image.
func CenterCrop(planes []uint8, c, w, h, cw, ch int) []uint8 {
	if cw > w || ch > h || cw < 1 || ch < 1 || len(planes) != c*w*h {
		panic(fmt.Sprintf("datasets: CenterCrop of %d×%d from %d×%d", ch, cw, h, w))
	}
	top, left := CenterCropOffset(h, ch), CenterCropOffset(w, cw)
	dst := make([]uint8, 0, c*ch*cw)
	for p := range c {
		for y := top; y < top+ch; y++ {
			row := planes[(p*h+y)*w:]
			dst = append(dst, row[left:left+cw]...)
		}
	}
	return dst
}

// size returns the w×h of a w0×h0 image after p, checking that the crop
// fits and that the result is within the limits before anything is
// allocated; path names the image in errors.
func (p Preprocess) size(path string, w0, h0, c int, lim Limits) (w, h int, err error) {
	w, h = w0, h0
	if p.Resize > 0 {
		w, h = ResizedSize(w0, h0, p.Resize)
		if w < 1 || h < 1 || int64(w)*int64(h) > maxImagePixels || int64(w)*int64(h)*int64(c) > lim.MaxElements {
			return 0, 0, fmt.Errorf("%w: %s: %d×%d resized to %d×%d is over the limit", ErrBadData, path, w0, h0, w, h)
		}
	}
	if p.CenterCrop != nil {
		ch, cw := p.CenterCrop[0], p.CenterCrop[1]
		if cw > w || ch > h {
			return 0, 0, fmt.Errorf("%w: %s is %d×%d%s, smaller than the %d×%d centre crop", ErrBadData, path, w, h, p.after(w0, h0), cw, ch)
		}
		w, h = cw, ch
	}
	return w, h, nil
}

// after says how the size in a message came about: "" without
// preprocessing, else e.g. " (300×257 before --resize 256)".
func (p Preprocess) after(w0, h0 int) string {
	if p.Resize == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d×%d before --resize %d)", w0, h0, p.Resize)
}

// hint ends a size-mismatch message.
func (p Preprocess) hint() string {
	if p.IsZero() {
		return " (advcheck does not resize images without --resize)"
	}
	return " after --resize/--center-crop"
}

// apply preprocesses c planes of a w×h image; the sizes were checked by size.
func (p Preprocess) apply(planes []uint8, c, w, h int) []uint8 {
	if p.Resize > 0 {
		nw, nh := ResizedSize(w, h, p.Resize)
		planes = ResizeBilinear(planes, c, w, h, nw, nh)
		w, h = nw, nh
	}
	if p.CenterCrop != nil {
		planes = CenterCrop(planes, c, w, h, p.CenterCrop[1], p.CenterCrop[0])
	}
	return planes
}
