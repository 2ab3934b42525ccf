// Package metrics holds the per-sample measurements advcheck makes and their
// reductions: Wilson intervals for accuracies, cosine similarity and KL
// divergence between clean and adversarial outputs, perturbation norms,
// percentiles, areas under accuracy curves and McNemar's test for paired
// outcomes. All arithmetic is float64 and every reduction visits samples in
// the order given, so the same samples always give the same bits.
package metrics

import (
	"math"
	"sort"
)

// z95 is the 97.5% quantile of the standard normal distribution.
const z95 = 1.959963984540054

// Wilson returns the 95% Wilson score interval of a proportion k/n.
// With n = 0 both ends are NaN.
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

// Cosine returns the cosine similarity of a and b. When both are zero
// vectors it is 1 (nothing moved); when exactly one is, 0.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	switch {
	case na == 0 && nb == 0:
		return 1
	case na == 0 || nb == 0:
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

// CosineF64 is Cosine for float64 vectors.
func CosineF64(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	switch {
	case na == 0 && nb == 0:
		return 1
	case na == 0 || nb == 0:
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

// LogSoftmax writes log softmax(logits) into dst (len(logits) values).
func LogSoftmax(dst []float64, logits []float32) {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(s)
	for i, v := range logits {
		dst[i] = float64(v) - lse
	}
}

// Softmax writes softmax(logits) into dst.
func Softmax(dst []float64, logits []float32) {
	LogSoftmax(dst, logits)
	for i, v := range dst {
		dst[i] = math.Exp(v)
	}
}

// KL returns KL(p ‖ q) = Σ p·(log p − log q) for the softmax distributions
// of two logit vectors, computed from log-probabilities so that it stays
// finite where a probability underflows.
func KL(clean, adv []float32) float64 {
	lp := make([]float64, len(clean))
	lq := make([]float64, len(adv))
	LogSoftmax(lp, clean)
	LogSoftmax(lq, adv)
	s := 0.0
	for i := range lp {
		if p := math.Exp(lp[i]); p > 0 {
			s += p * (lp[i] - lq[i])
		}
	}
	return math.Max(s, 0)
}

// Linf returns max |a − b|.
func Linf(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// L1 returns ‖a − b‖₁ = Σ |a − b|.
func L1(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s
}

// L2 returns ‖a − b‖₂.
func L2(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Mean returns the mean of v (NaN for none).
func Mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Min returns the smallest value (NaN for none).
func Min(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	m := v[0]
	for _, x := range v[1:] {
		m = math.Min(m, x)
	}
	return m
}

// Max returns the largest value (NaN for none).
func Max(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	m := v[0]
	for _, x := range v[1:] {
		m = math.Max(m, x)
	}
	return m
}

// Percentile returns the q-th percentile (q in [0, 100]) of v by linear
// interpolation between order statistics (NumPy's default method). v is
// not modified. NaN for no values.
func Percentile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	h := (float64(len(s)) - 1) * q / 100
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

// Median is Percentile(v, 50).
func Median(v []float64) float64 { return Percentile(v, 50) }

// AUC returns the area under a curve y(x) by the trapezoid rule over points
// sorted by x, divided by the largest x: the mean height over [0, max x].
// The caller includes x = 0. NaN for fewer than two points or max x = 0.
func AUC(x, y []float64) float64 {
	if len(x) < 2 || len(x) != len(y) {
		return math.NaN()
	}
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	area := 0.0
	for k := 1; k < len(idx); k++ {
		i, j := idx[k-1], idx[k]
		area += (x[j] - x[i]) * (y[i] + y[j]) / 2
	}
	top := x[idx[len(idx)-1]]
	if top <= 0 {
		return math.NaN()
	}
	return area / top
}

// McNemarOneSided tests paired binary outcomes: among the discordant pairs,
// worse counts the samples the baseline got right and the candidate wrong,
// better the reverse. It returns the exact one-sided p-value of observing at
// least `worse` such pairs if both were equally likely (binomial, p = 1/2):
// small values mean the candidate is significantly worse. 1 when there are
// no discordant pairs.
func McNemarOneSided(worse, better int) float64 {
	n := worse + better
	if n == 0 {
		return 1
	}
	// P(X ≥ worse) for X ~ Binomial(n, 1/2), summed in log space.
	p := 0.0
	for k := worse; k <= n; k++ {
		lg := lchoose(n, k) - float64(n)*math.Ln2
		p += math.Exp(lg)
	}
	return math.Min(p, 1)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
