package reports

import (
	"fmt"
	"strconv"

	"github.com/advcheck/advcheck/attacks"
)

// A default eps grid only means something at the scale of the data: the
// MNIST grid (L∞ up to 0.3) breaks every sample of an ImageNet model at its
// first step, and 1/255 says nothing about MNIST. DefaultEpsFor picks one of
// three grids, in the units of the literature for each kind of data, from the
// model's input shape:
//
//	MNIST-scale    one channel, or not an image   L∞ 0 … 0.3 by 0.05      L2 0 … 3 by 0.5              L1 0 … 15 by 2.5
//	CIFAR-scale    3+ channels, under 64 px       L∞ 0, 2, 4, 8, 16 /255  L2 0, 0.125, 0.25, 0.5, 1    L1 0, 3, 6, 12, 24
//	ImageNet-scale 3+ channels, 64 px or more     L∞ 0, 1, 2, 4, 8 /255   L2 0, 0.25, 0.5, 1, 2        L1 0, 15, 30, 60, 120
//
// The L1 grids hold the radii of the L1 literature in their middle: 12 on
// CIFAR-10 and 60 on ImageNet (AutoAttack's L1 version, Croce & Hein 2021);
// MNIST's reaches 15, past the L1 distance at which FAB and FMN break most
// samples of an adversarially trained MNIST CNN.
//
// The grids are for pixels in [0, 1]; eps is measured in --bounds units, so
// every radius is multiplied by hi − lo.
var (
	imagenetLinf = []float64{0, 1, 2, 4, 8}  // in 1/255
	cifarLinf    = []float64{0, 2, 4, 8, 16} // in 1/255
	imagenetL2   = []float64{0, 0.25, 0.5, 1, 2}
	cifarL2      = []float64{0, 0.125, 0.25, 0.5, 1}
	imagenetL1   = []float64{0, 15, 30, 60, 120}
	cifarL1      = []float64{0, 3, 6, 12, 24}
)

// largeImage is the smallest side, in pixels, of an ImageNet-scale input.
const largeImage = 64

// DefaultEpsFor returns the default grid for a model whose samples have
// shape (C×H×W as attacks see them; any other rank counts as not an image)
// and pixels in [lo, hi], with a one-line note saying which grid it is and
// why, for the report's config.eps_default and the table header.
func DefaultEpsFor(shape []int, lo, hi float64) (EpsGrid, string) {
	w := hi - lo
	scaled := ""
	if w != 1 {
		scaled = fmt.Sprintf(", ×%s for bounds [%s, %s]", epsNum(w), epsNum(lo), epsNum(hi))
	}
	if len(shape) != 3 || shape[0] < 3 {
		what := "not an image"
		if len(shape) == 3 {
			what = fmt.Sprintf("%d-channel %d×%d", shape[0], shape[1], shape[2])
		}
		return DefaultEps(lo, hi), fmt.Sprintf("%s input: MNIST-scale grid (L∞ 0…0.3, L2 0…3, L1 0…15%s)", what, scaled)
	}
	side := min(shape[1], shape[2])
	linf, l2, l1, name, rule := imagenetLinf, imagenetL2, imagenetL1, "ImageNet-scale", fmt.Sprintf("≥ %d px", largeImage)
	if side < largeImage {
		linf, l2, l1, name, rule = cifarLinf, cifarL2, cifarL1, "CIFAR-scale", fmt.Sprintf("< %d px", largeImage)
	}
	g := EpsGrid{}
	for _, k := range linf {
		// k·w/255 rather than a rounded decimal, so a default radius equals
		// the same radius given as --eps k/255.
		requested := strconv.FormatFloat(k, 'g', -1, 64) + "/255"
		if w != 1 {
			requested = epsNum(k * w / 255)
		}
		g[attacks.Linf] = append(g[attacks.Linf], Eps{attacks.Linf, requested, k * w / 255})
	}
	for _, v := range l2 {
		g[attacks.L2] = append(g[attacks.L2], Eps{attacks.L2, epsNum(v * w), v * w})
	}
	for _, v := range l1 {
		g[attacks.L1] = append(g[attacks.L1], Eps{attacks.L1, epsNum(v * w), v * w})
	}
	note := fmt.Sprintf("rgb-%d (%d×%d×%d, %s): %s grid (L∞ 0…%s/255, L2 0…%s, L1 0…%s%s)", side, shape[0], shape[1], shape[2], rule, name,
		epsNum(linf[len(linf)-1]), epsNum(l2[len(l2)-1]), epsNum(l1[len(l1)-1]), scaled)
	return g, note
}

func epsNum(v float64) string { return strconv.FormatFloat(v, 'g', 12, 64) }
