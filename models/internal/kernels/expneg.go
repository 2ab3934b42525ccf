package kernels

import "math"

// expNeg returns eˣ for x ≤ 0 (softmax's x − max) with a relative error
// below 1e-13 (TestExpNeg), for the float32 kernels: x = (64k + j)·ln2/64 + r
// with |r| ≤ ln2/128, eˣ = 2ᵏ·2^(j/64)·eʳ, eʳ by its Taylor polynomial of
// degree 4. Results under 2⁻¹⁰²² (x < −708), which no float32 can hold,
// flush to 0; NaN stays NaN. About twice as fast as math.Exp.
func expNeg(x float64) float64 {
	if !(x >= -708) {
		if x != x {
			return x
		}
		return 0
	}
	const (
		scale = 64 / math.Ln2
		stepH = 0x1.62e42fefp-7       // ln2/64 to 33 bits: n·stepH is exact for |n| < 2²⁰
		stepL = 1.162596423439437e-12 // ln2/64 − stepH
	)
	n := (x*scale + round) - round
	r := (x - n*stepH) - n*stepL
	k := int64(n)
	r2 := r * r
	p := (1 + r) + r2*(0.5+r*(1.0/6)) + r2*r2*(1.0/24)
	return p * exp2Table[k&63] * math.Float64frombits(uint64((k>>6)+1023)<<52)
}

// round is added and subtracted to round a float64 to an integer.
const round = 0x1.8p52

// exp2Table holds 2^(j/64).
var exp2Table = func() (t [64]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / 64)
	}
	return t
}()

// sigmoidFast returns 1/(1 + e⁻ˣ) for the float32 kernels, through expNeg:
// e⁻ˣ for x ≥ 0 and eˣ/(1 + eˣ) below, so that the exponential never
// overflows (TestSigmoidFast).
func sigmoidFast(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + expNeg(-x))
	}
	e := expNeg(x)
	return e / (1 + e)
}
