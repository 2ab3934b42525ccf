package kernels

import "math"

// The exact GELU, y = x·Φ(x) with Φ the standard normal CDF, and its
// derivative Φ(x) + x·φ(x) cost an erf (and an exp) per element through the
// math package. For float32 results both come from tables of polynomials
// instead: on [geluLo, geluHi) in pieces of geluWidth, each the degree-7
// polynomial through the exact function at the piece's Chebyshev nodes,
// built at start-up from math.Erfc and math.Exp. Their relative error is
// below 1e-10 (TestGeluTables), far below float32's half-ulp of 6e-8; outside
// the tables the exact formulas run. The float64 kernels keep math.Erf.
const (
	geluLo     = -4.0
	geluHi     = 6.0
	geluWidth  = 0.25
	geluPieces = int((geluHi - geluLo) / geluWidth)
	geluOrder  = 8 // coefficients per piece
)

var geluPhiTab, geluGradTab = geluTables()

// geluExact returns Φ(x) and Φ(x) + x·φ(x), Φ through erfc so that the
// lower tail keeps its relative accuracy.
func geluExact(x float64) (phi, grad float64) {
	phi = 0.5 * math.Erfc(-x/math.Sqrt2)
	return phi, phi + x*math.Exp(-0.5*x*x)/math.Sqrt(2*math.Pi)
}

// geluTables interpolates geluExact on each piece.
func geluTables() (phi, grad [geluPieces][geluOrder]float64) {
	for i := range geluPieces {
		var fp, fg [geluOrder]float64
		for j := range geluOrder {
			s := math.Cos(math.Pi * (float64(j) + 0.5) / geluOrder)
			fp[j], fg[j] = geluExact(geluLo + geluWidth*(float64(i)+(s+1)/2))
		}
		phi[i], grad[i] = chebyshevPowers(fp), chebyshevPowers(fg)
	}
	return phi, grad
}

// chebyshevPowers returns the coefficients, in powers of s, of the
// polynomial of degree < geluOrder that takes the values f at the Chebyshev
// nodes s_j = cos(π(j+½)/geluOrder) of [-1, 1].
func chebyshevPowers(f [geluOrder]float64) [geluOrder]float64 {
	const n = geluOrder
	var p [n]float64
	var tPrev, t [n]float64 // powers of T_{k−1} and T_k
	t[0] = 1
	for k := range n {
		c := 0.0
		for j := range n {
			c += f[j] * math.Cos(float64(k)*math.Pi*(float64(j)+0.5)/n)
		}
		c *= 2.0 / n
		if k == 0 {
			c /= 2
		}
		for i := range n {
			p[i] += c * t[i]
		}
		// T_1 = s, T_{k+1} = 2s·T_k − T_{k−1}.
		next := [n]float64{1: 1}
		if k > 0 {
			for i := range n - 1 {
				next[i+1] = 2 * t[i]
			}
			next[0] = 0
			for i := range n {
				next[i] -= tPrev[i]
			}
		}
		tPrev, t = t, next
	}
	return p
}

// geluPiece evaluates a table at x; ok is false outside it (and for NaN).
func geluPiece(tab *[geluPieces][geluOrder]float64, x float64) (v float64, ok bool) {
	u := (x - geluLo) * (1 / geluWidth)
	if !(u >= 0 && u < float64(geluPieces)) {
		return 0, false
	}
	i := int(u)
	s := 2*(u-float64(i)) - 1
	c := &tab[i]
	// Estrin's scheme: a third of Horner's chain of dependent operations.
	s2 := s * s
	return (c[0] + c[1]*s) + s2*(c[2]+c[3]*s) + s2*s2*((c[4]+c[5]*s)+s2*(c[6]+c[7]*s)), true
}

// geluFast returns x·Φ(x).
func geluFast(x float64) float64 {
	phi, ok := geluPiece(&geluPhiTab, x)
	if !ok {
		phi, _ = geluExact(x)
	}
	return x * phi
}

// geluGradFast returns Φ(x) + x·φ(x).
func geluGradFast(x float64) float64 {
	g, ok := geluPiece(&geluGradTab, x)
	if !ok {
		_, g = geluExact(x)
	}
	return g
}
