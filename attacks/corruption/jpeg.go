package corruption

import (
	"bytes"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math"
)

// jpegCompression encodes the image, rounded to 8 bits, as a JPEG at the
// severity's quality with Go's image/jpeg (4:2:0 chroma for RGB; a gray
// image as a gray JPEG) and decodes it with Go's decoder. The reference
// uses PIL (libjpeg) at the same qualities; Go's encoder uses the same
// quantisation tables and scaling, its decoder upsamples chroma without
// libjpeg's "fancy" filter, so pixels differ by a few levels (see
// docs/corruptions.md). Go's codec keeps the result the same on every
// build and platform.
func jpegCompression(m *image, sc Scale, severity int, _ source) error {
	q := pick(sc, severity, [5]int{80, 65, 58, 50, 40}, [5]int{25, 18, 15, 10, 7})
	rect := goimage.Rect(0, 0, m.w, m.h)
	to8 := func(v float64) uint8 { return uint8(math.Round(clip01(v) * 255)) }
	var src goimage.Image
	n := m.h * m.w
	if m.c == 1 {
		g := goimage.NewGray(rect)
		for i, v := range m.pix {
			g.Pix[i] = to8(v)
		}
		src = g
	} else {
		rgba := goimage.NewRGBA(rect)
		for i := 0; i < n; i++ {
			rgba.Pix[4*i] = to8(m.pix[i])
			rgba.Pix[4*i+1] = to8(m.pix[n+i])
			rgba.Pix[4*i+2] = to8(m.pix[2*n+i])
			rgba.Pix[4*i+3] = 255
		}
		src = rgba
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: q}); err != nil {
		return err
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return err
	}
	switch d := dec.(type) {
	case *goimage.Gray:
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				v := float64(d.Pix[y*d.Stride+x]) / 255
				for ch := 0; ch < m.c; ch++ {
					m.pix[ch*n+y*m.w+x] = v
				}
			}
		}
	default:
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				c := color.RGBAModel.Convert(dec.At(x, y)).(color.RGBA)
				m.pix[y*m.w+x] = float64(c.R) / 255
				if m.c == 3 {
					m.pix[n+y*m.w+x] = float64(c.G) / 255
					m.pix[2*n+y*m.w+x] = float64(c.B) / 255
				}
			}
		}
	}
	return nil
}
