package corruption

// image is a C×H×W image of float64 values in [0, 1].
type image struct {
	c, h, w int
	pix     []float64
}

func newImage(c, h, w int) *image {
	return &image{c: c, h: h, w: w, pix: make([]float64, c*h*w)}
}

// plane returns channel ch as an H×W slice of m.pix.
func (m *image) plane(ch int) []float64 {
	n := m.h * m.w
	return m.pix[ch*n : (ch+1)*n]
}

func clip01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// hwc returns the flat index, in H×W×C order (numpy's layout of an image
// array), of channel ch at (y, x): random arrays drawn for a whole image are
// laid out this way so that they equal the reference's draws.
func (m *image) hwc(ch, y, x int) int { return (y*m.w+x)*m.c + ch }
