package metrics

import "math"

// McNemarExactBelow is the number of discordant pairs under which McNemar
// computes the exact binomial p-value; at or above it, the chi-square
// approximation with continuity correction.
const McNemarExactBelow = 25

// McNemar tests paired binary outcomes for a difference in either
// direction: b counts the pairs where the first outcome is a success and
// the second a failure, c the reverse (the concordant pairs carry no
// information). With fewer than McNemarExactBelow discordant pairs the
// p-value is exact: twice the binomial tail P(X ≤ min(b, c)), X ~ B(b+c, 1/2),
// capped at 1, and exact is true. Otherwise it is that of the statistic
// (|b−c| − 1)² / (b+c) under χ² with one degree of freedom, the −1 being
// Edwards' continuity correction, left out when b = c as R's mcnemar.test
// does. No discordant pair gives p = 1.
//
// It panics if b or c is negative.
func McNemar(b, c int) (p float64, exact bool) {
	if b < 0 || c < 0 {
		panic("metrics: McNemar with a negative count")
	}
	n := b + c
	if n == 0 {
		return 1, true
	}
	if n < McNemarExactBelow {
		k := min(b, c)
		tail := 0.0
		for i := 0; i <= k; i++ {
			tail += math.Exp(lchoose(n, i) - float64(n)*math.Ln2)
		}
		return math.Min(2*tail, 1), true
	}
	d := math.Abs(float64(b - c))
	if d > 0 {
		d--
	}
	chi2 := d * d / float64(n)
	// P(χ²₁ ≥ x) = P(|Z| ≥ √x) = erfc(√(x/2)).
	return math.Erfc(math.Sqrt(chi2 / 2)), false
}
