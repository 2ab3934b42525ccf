package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Per-sample dense products equal the definition Σ x·w + b, and a sample's
// results are the same bits computed in a batch of 1 as in a batch of 5, for
// batch-first [N×B×K] and sequence-first [A×N×K] layouts, with and without a
// fused ReLU's masked gradient.
func TestDenseRowsExact(t *testing.T) {
	t.Run("float32", func(t *testing.T) { denseRowsExact[float32](t, 1e-5) })
	t.Run("float64", func(t *testing.T) { denseRowsExact[float64](t, 1e-12) })
}

// gatherSample copies sample s of x [A×N×B×C] into [A×1×B×C].
func gatherSample[T Float](x []T, a, n, b, c, s int) []T {
	out := make([]T, 0, a*b*c)
	for i := 0; i < a; i++ {
		off := ((i*n + s) * b) * c
		out = append(out, x[off:off+b*c]...)
	}
	return out
}

func denseRowsExact[T Float](t *testing.T, tol float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []T {
		v := make([]T, n)
		for i := range v {
			v[i] = T(rng.NormFloat64())
		}
		return v
	}
	for _, g := range []DenseRows{{A: 1, N: 5, B: 197, K: 48, M: 40}, {A: 2, N: 3, B: 40, K: 33, M: 7}, {A: 150, N: 3, B: 1, K: 20, M: 9}} {
		name := fmt.Sprintf("%+v", g)
		rows := g.A * g.N * g.B
		x, w, b, dy := fill(rows*g.K), fill(g.K*g.M), fill(g.M), fill(rows*g.M)
		y, dx, dxr := make([]T, rows*g.M), make([]T, rows*g.K), make([]T, rows*g.K)
		sc := make([]T, DenseRowsScratch(g.M))
		DenseRowsForward(g, x, w, b, y, false, 0, g.Items())
		DenseRowsBackward(g, dy, w, dx, nil, 0, g.Items(), sc)
		DenseRowsBackward(g, dy, w, dxr, y, 0, g.Items(), sc)
		for r := 0; r < rows; r++ {
			for j := 0; j < g.M; j++ {
				want := float64(b[j])
				for q := 0; q < g.K; q++ {
					want += float64(x[r*g.K+q]) * float64(w[q*g.M+j])
				}
				if math.Abs(float64(y[r*g.M+j])-want) > tol*(1+math.Abs(want))*math.Sqrt(float64(g.K)) {
					t.Fatalf("%s: y[%d, %d] = %v, want %v", name, r, j, y[r*g.M+j], want)
				}
			}
			for q := 0; q < g.K; q++ {
				want, wantR := 0.0, 0.0
				for j := 0; j < g.M; j++ {
					p := float64(dy[r*g.M+j]) * float64(w[q*g.M+j])
					want += p
					if y[r*g.M+j] > 0 {
						wantR += p
					}
				}
				if math.Abs(float64(dx[r*g.K+q])-want) > tol*(1+math.Abs(want))*math.Sqrt(float64(g.M)) ||
					math.Abs(float64(dxr[r*g.K+q])-wantR) > tol*(1+math.Abs(wantR))*math.Sqrt(float64(g.M)) {
					t.Fatalf("%s: dx[%d, %d] = %v and %v with the ReLU, want %v and %v", name, r, q, dx[r*g.K+q], dxr[r*g.K+q], want, wantR)
				}
			}
		}
		one := g
		one.N = 1
		for s := 0; s < g.N; s++ {
			xs, dys, ys := gatherSample(x, g.A, g.N, g.B, g.K, s), gatherSample(dy, g.A, g.N, g.B, g.M, s), gatherSample(y, g.A, g.N, g.B, g.M, s)
			y1, dx1, dxr1 := make([]T, len(ys)), make([]T, len(xs)), make([]T, len(xs))
			DenseRowsForward(one, xs, w, b, y1, false, 0, one.Items())
			DenseRowsBackward(one, dys, w, dx1, nil, 0, one.Items(), sc)
			DenseRowsBackward(one, dys, w, dxr1, ys, 0, one.Items(), sc)
			wantDx, wantDxr := gatherSample(dx, g.A, g.N, g.B, g.K, s), gatherSample(dxr, g.A, g.N, g.B, g.K, s)
			for i := range y1 {
				if y1[i] != ys[i] {
					t.Fatalf("%s: sample %d alone: y[%d] = %v, %v in the batch", name, s, i, y1[i], ys[i])
				}
			}
			for i := range dx1 {
				if dx1[i] != wantDx[i] || dxr1[i] != wantDxr[i] {
					t.Fatalf("%s: sample %d alone: dx[%d] = %v (%v with the ReLU), %v (%v) in the batch", name, s, i, dx1[i], dxr1[i], wantDx[i], wantDxr[i])
				}
			}
		}
	}
}
