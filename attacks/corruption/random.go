package corruption

import (
	"math"
	"math/rand/v2"
)

// source is the randomness a corruption consumes, as whole arrays in the
// order and layout numpy's legacy np.random functions return them (image
// arrays in H×W×C order). Tests replay the draws the reference code made.
type source interface {
	// normal returns n draws from N(loc, scale²).
	normal(n int, loc, scale float64) []float64
	// uniform returns n draws from U[lo, hi).
	uniform(n int, lo, hi float64) []float64
	// randint returns n integers uniform in [lo, hi).
	randint(n int, lo, hi int) []int
	// poisson returns one Poisson draw per rate.
	poisson(lam []float64) []float64
	// random returns n draws from U[0, 1).
	random(n int) []float64
}

type rngSource struct{ r *rand.Rand }

func (s rngSource) normal(n int, loc, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = loc + scale*s.r.NormFloat64()
	}
	return out
}

func (s rngSource) uniform(n int, lo, hi float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*s.r.Float64()
	}
	return out
}

func (s rngSource) randint(n int, lo, hi int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = lo + s.r.IntN(hi-lo)
	}
	return out
}

func (s rngSource) random(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = s.r.Float64()
	}
	return out
}

func (s rngSource) poisson(lam []float64) []float64 {
	out := make([]float64, len(lam))
	for i, l := range lam {
		out[i] = float64(poisson(s.r, l))
	}
	return out
}

// poisson draws from Poisson(lam): by multiplying uniforms below 10 and by
// Hörmann's transformed rejection (PTRS, 1993) above, as numpy does.
func poisson(r *rand.Rand, lam float64) int64 {
	switch {
	case !(lam > 0):
		return 0
	case lam < 10:
		enlam := math.Exp(-lam)
		var k int64
		prod := 1.0
		for {
			prod *= r.Float64()
			if prod <= enlam {
				return k
			}
			k++
		}
	}
	slam := math.Sqrt(lam)
	loglam := math.Log(lam)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invalpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lam + 0.43)
		if us >= 0.07 && v <= vr {
			return int64(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lam+k*loglam-lg {
			return int64(k)
		}
	}
}
