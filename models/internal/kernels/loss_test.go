package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLossGradients checks every loss, untargeted and targeted, against
// central finite differences in float64, and the values against their
// definitions computed independently here.
func TestLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, k = 6, 7
	logits := make([]float64, n*k)
	for i := range logits {
		logits[i] = rng.NormFloat64() * 3
	}
	labels := []int{0, 3, 6, 2, 2, 5}
	targets := []int{1, 3, 0, 4, 6, 2} // target == label in row 1: a defined, if odd, case
	for _, kind := range []LossKind{CrossEntropy, Margin, DLR, LogitDiff} {
		for _, tg := range [][]int{nil, targets} {
			loss := make([]float64, n)
			grad := make([]float64, n*k)
			Loss(kind, logits, n, k, labels, tg, nil, loss, grad)
			for i := 0; i < n; i++ {
				row := append([]float64(nil), logits[i*k:(i+1)*k]...)
				ti := -1
				if tg != nil {
					ti = tg[i]
				}
				if want := definition(kind, row, labels[i], ti); math.Abs(loss[i]-want) > 1e-12 {
					t.Errorf("%v targeted=%v row %d: loss %v, want %v", kind, tg != nil, i, loss[i], want)
				}
				for j := 0; j < k; j++ {
					const h = 1e-6
					v := row[j]
					row[j] = v + h
					up := definition(kind, row, labels[i], ti)
					row[j] = v - h
					down := definition(kind, row, labels[i], ti)
					row[j] = v
					fd := (up - down) / (2 * h)
					if math.Abs(fd-grad[i*k+j]) > 1e-6*(1+math.Abs(fd)) {
						t.Errorf("%v targeted=%v row %d: ∂/∂z%d = %v, finite differences %v", kind, tg != nil, i, j, grad[i*k+j], fd)
					}
				}
			}
		}
	}
}

// definition computes each loss the slow way: sorting a copy of the row.
func definition(kind LossKind, z []float64, y, t int) float64 {
	sorted := append([]float64(nil), z...)
	for i := range sorted { // insertion sort, descending
		for j := i; j > 0 && sorted[j] > sorted[j-1]; j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	maxExcept := func(skip int) float64 {
		m := math.Inf(-1)
		for j, v := range z {
			if j != skip {
				m = math.Max(m, v)
			}
		}
		return m
	}
	lse := 0.0
	for _, v := range z {
		lse += math.Exp(v)
	}
	lse = math.Log(lse)
	switch kind {
	case CrossEntropy:
		if t < 0 {
			return lse - z[y]
		}
		return z[t] - lse
	case Margin:
		if t < 0 {
			return maxExcept(y) - z[y]
		}
		return z[t] - maxExcept(t)
	case DLR:
		if t < 0 {
			return -(z[y] - maxExcept(y)) / (sorted[0] - sorted[2] + 1e-12)
		}
		return -(z[y] - z[t]) / (sorted[0] - 0.5*(sorted[2]+sorted[3]) + 1e-12)
	case LogitDiff:
		if t < 0 {
			return 0
		}
		return z[t] - z[y]
	}
	panic("unknown loss")
}

func TestLossScale(t *testing.T) {
	logits := []float32{1, 2, 3, 0.5, -1, 2}
	g1, g2 := make([]float32, 6), make([]float32, 6)
	loss := make([]float64, 2)
	Loss(CrossEntropy, logits, 2, 3, []int{0, 1}, nil, nil, loss, g1)
	Loss(CrossEntropy, logits, 2, 3, []int{0, 1}, nil, []float32{2, 0}, loss, g2)
	for j := 0; j < 3; j++ {
		if g2[j] != 2*g1[j] || g2[3+j] != 0 {
			t.Fatalf("scaled gradient %v from %v", g2, g1)
		}
	}
}
