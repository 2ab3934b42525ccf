package attacks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Norm is the threat model's distance: L∞, L2 or L1, over the C×H×W values
// of one sample. ParseNorm reads only L∞ and L2, the norms every attack
// supports; L1 is the distance of the minimal-norm attacks that take it
// (fmn:norm=l1).
type Norm int

// Norms.
const (
	Linf Norm = iota
	L2
	L1
)

func (n Norm) String() string {
	switch n {
	case L2:
		return "l2"
	case L1:
		return "l1"
	}
	return "linf"
}

// ParseNorm reads "linf" or "l2".
func ParseNorm(s string) (Norm, error) {
	switch s {
	case "linf", "Linf", "inf", "l_inf":
		return Linf, nil
	case "l2", "L2":
		return L2, nil
	}
	return 0, fmt.Errorf("norm %q: want linf or l2", s)
}

// Dist returns the norm of d.
func (n Norm) Dist(d []float32) float64 {
	switch n {
	case L2:
		return l2(d)
	case L1:
		s := 0.0
		for _, v := range d {
			s += math.Abs(float64(v))
		}
		return s
	}
	m := 0.0
	for _, v := range d {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func l2(d []float32) float64 {
	s := 0.0
	for _, v := range d {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// Project moves adv (one sample) into the eps-ball around x in this norm and
// then into [lo, hi]. For L2 the ball projection rescales the perturbation;
// clipping to the bounds afterwards can only shorten it.
func (n Norm) Project(adv, x []float32, eps, lo, hi float64) {
	e := float32(eps)
	l, h := float32(lo), float32(hi)
	if n == Linf {
		for i, v := range adv {
			v = min(max(v, x[i]-e), x[i]+e)
			adv[i] = min(max(v, l), h)
		}
		return
	}
	if n == L1 {
		projectL1(adv, x, eps)
		for i, v := range adv {
			adv[i] = min(max(v, l), h)
		}
		return
	}
	s := 0.0
	for i, v := range adv {
		d := float64(v - x[i])
		s += d * d
	}
	norm := math.Sqrt(s)
	f := float32(1)
	if norm > eps {
		f = float32(eps / norm)
	}
	for i, v := range adv {
		v = x[i] + (v-x[i])*f
		adv[i] = min(max(v, l), h)
	}
}

// RandomStart writes a uniformly random point of the eps-ball around x into
// adv, then clips it to the bounds.
func (n Norm) RandomStart(rng *rand.Rand, adv, x []float32, eps, lo, hi float64) {
	if n == Linf {
		for i := range adv {
			adv[i] = x[i] + float32(eps*(2*rng.Float64()-1))
		}
	} else {
		// Uniform in the ball: a Gaussian direction and radius eps·u^(1/d).
		s := 0.0
		for i := range adv {
			g := rng.NormFloat64()
			adv[i] = float32(g)
			s += g * g
		}
		r := eps * math.Pow(rng.Float64(), 1/float64(len(adv))) / math.Max(math.Sqrt(s), 1e-12)
		for i := range adv {
			adv[i] = x[i] + float32(r)*adv[i]
		}
	}
	n.Project(adv, x, eps, lo, hi)
}

// Step moves adv by alpha along the steepest ascent direction of g in this
// norm: alpha·sign(g) for L∞, alpha·g/‖g‖₂ for L2 (no move where g = 0).
func (n Norm) Step(adv, g []float32, alpha float64) {
	if n == Linf {
		a := float32(alpha)
		for i, v := range g {
			switch {
			case v > 0:
				adv[i] += a
			case v < 0:
				adv[i] -= a
			}
		}
		return
	}
	norm := l2(g)
	if norm == 0 {
		return
	}
	f := float32(alpha / norm)
	for i, v := range g {
		adv[i] += f * v
	}
}

// projectL1 moves adv onto the L1 ball of radius eps around x: the Euclidean
// projection of Duchi et al. (ICML 2008), soft-thresholding adv−x by the θ
// that brings its L1 norm to eps. Clipping to the bounds afterwards only
// shortens the perturbation.
func projectL1(adv, x []float32, eps float64) {
	s := 0.0
	mag := make([]float64, len(adv))
	for i, v := range adv {
		mag[i] = math.Abs(float64(v - x[i]))
		s += mag[i]
	}
	if s <= eps {
		return
	}
	if eps <= 0 {
		copy(adv, x)
		return
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(mag)))
	theta, cum := 0.0, 0.0
	for j, u := range mag {
		cum += u
		t := (cum - eps) / float64(j+1)
		if u-t <= 0 {
			break
		}
		theta = t
	}
	for i, v := range adv {
		d := float64(v - x[i])
		m := math.Max(math.Abs(d)-theta, 0)
		adv[i] = x[i] + float32(math.Copysign(m, d))
	}
}
