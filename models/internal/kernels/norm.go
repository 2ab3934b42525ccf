package kernels

import "math"

// LayerNormForward normalises rows [lo, hi) of x, viewed as rows of d
// elements: y = (x − μ)/√(σ² + eps)·g + b with the biased variance, summed in
// float64. It stores each row's μ and 1/√(σ² + eps) in mean and inv for
// LayerNormBackward.
func LayerNormForward[T Float](x, y, g, b []T, d int, eps float64, mean, inv []float64, lo, hi int) {
	for r := lo; r < hi; r++ {
		row := x[r*d : (r+1)*d]
		out := y[r*d : (r+1)*d]
		s := 0.0
		for _, v := range row {
			s += float64(v)
		}
		mu := s / float64(d)
		q := 0.0
		for _, v := range row {
			e := float64(v) - mu
			q += e * e
		}
		is := 1 / math.Sqrt(q/float64(d)+eps)
		mean[r], inv[r] = mu, is
		for j, v := range row {
			out[j] = T((float64(v)-mu)*is*float64(g[j]) + float64(b[j]))
		}
	}
}

// LayerNormBackward computes dx for rows [lo, hi) from x, dy and the
// statistics LayerNormForward stored: with x̂ = (x − μ)/σ and ĝ = dy·g,
// dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))/σ.
func LayerNormBackward[T Float](x, dy, g []T, d int, mean, inv []float64, dx []T, lo, hi int) {
	for r := lo; r < hi; r++ {
		row, gr, out := x[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
		mu, is := mean[r], inv[r]
		s1, s2 := 0.0, 0.0
		for j, v := range row {
			gh := float64(gr[j]) * float64(g[j])
			s1 += gh
			s2 += gh * (float64(v) - mu) * is
		}
		s1 /= float64(d)
		s2 /= float64(d)
		for j, v := range row {
			gh := float64(gr[j]) * float64(g[j])
			out[j] = T(is * (gh - s1 - (float64(v)-mu)*is*s2))
		}
	}
}
