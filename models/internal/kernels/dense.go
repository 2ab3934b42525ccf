package kernels

import "github.com/advcheck/advcheck/models/internal/blas"

// DenseBlock is the number of rows every dense matrix product works on. A
// BLAS may compute a row differently depending on how many rows the call
// has (OpenBLAS picks other kernels for the remainder rows), so the engine
// always multiplies blocks of exactly DenseBlock rows, padding the last one:
// a sample's result is then the same bits whatever batch it is in.
const DenseBlock = 16

// DenseScratch is the scratch DenseForward and DenseBackward need per worker.
func DenseScratch(k, m int) int { return DenseBlock * (k + m) }

// DenseForward computes rows [lo, hi) of y = x·w + b for x (rows×K), w (K×M)
// and b ([M] or nil). scratch holds DenseScratch(k, m) elements.
func DenseForward[T Float](x, w, b, y []T, k, m, lo, hi int, scratch []T) {
	for r := lo; r < hi; r += DenseBlock {
		n := min(DenseBlock, hi-r)
		xs, ys := x[r*k:(r+n)*k], y[r*m:(r+n)*m]
		if n < DenseBlock {
			xs, ys = scratch[:DenseBlock*k], scratch[DenseBlock*k:DenseBlock*(k+m)]
			copy(xs, x[r*k:(r+n)*k])
			clear(xs[n*k:])
		}
		beta := T(0)
		if b != nil {
			for q := 0; q < DenseBlock; q++ {
				copy(ys[q*m:(q+1)*m], b)
			}
			beta = 1
		}
		blas.Gemm(false, false, DenseBlock, m, k, 1, xs, k, w, m, beta, ys, m)
		if n < DenseBlock {
			copy(y[r*m:(r+n)*m], ys[:n*m])
		}
	}
}

// DenseBackward computes rows [lo, hi) of dx = dy·wᵀ, in blocks as DenseForward.
func DenseBackward[T Float](dy, w, dx []T, k, m, lo, hi int, scratch []T) {
	for r := lo; r < hi; r += DenseBlock {
		n := min(DenseBlock, hi-r)
		dys, dxs := dy[r*m:(r+n)*m], dx[r*k:(r+n)*k]
		if n < DenseBlock {
			dys, dxs = scratch[:DenseBlock*m], scratch[DenseBlock*m:DenseBlock*(k+m)]
			copy(dys, dy[r*m:(r+n)*m])
			clear(dys[n*m:])
		}
		blas.Gemm(false, true, DenseBlock, k, m, 1, dys, m, w, m, 0, dxs, k)
		if n < DenseBlock {
			copy(dx[r*k:(r+n)*k], dxs[:n*k])
		}
	}
}

// MatMulGeom describes a batched matrix product y[p] = a[pa]·b[pb] where the
// batch index p runs over a broadcast batch shape.
type MatMulGeom struct {
	Batch   []int // broadcast batch shape of y
	ABatch  []int // batch shape of a, right-aligned against Batch (1 = broadcast)
	BBatch  []int
	N, K, M int
}

func (g MatMulGeom) offsets(p int) (oa, ob int) {
	// Unravel p in Batch and map onto the broadcast operands.
	sa, sb := 1, 1
	for d := len(g.Batch) - 1; d >= 0; d-- {
		i := p % g.Batch[d]
		p /= g.Batch[d]
		if da := d - (len(g.Batch) - len(g.ABatch)); da >= 0 {
			if g.ABatch[da] != 1 {
				oa += i * sa
			}
			sa *= g.ABatch[da]
		}
		if db := d - (len(g.Batch) - len(g.BBatch)); db >= 0 {
			if g.BBatch[db] != 1 {
				ob += i * sb
			}
			sb *= g.BBatch[db]
		}
	}
	return oa * g.N * g.K, ob * g.K * g.M
}

// MatMulForward computes batch entries [lo, hi) of y.
func MatMulForward[T Float](g MatMulGeom, a, b, y []T, lo, hi int) {
	for p := lo; p < hi; p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(false, false, g.N, g.M, g.K, 1, a[oa:oa+g.N*g.K], g.K, b[ob:ob+g.K*g.M], g.M, 0, y[p*g.N*g.M:(p+1)*g.N*g.M], g.M)
	}
}

// MatMulBackwardA accumulates da += dy·bᵀ over all batch entries, serially
// (broadcast operands receive contributions from several entries).
func MatMulBackwardA[T Float](g MatMulGeom, dy, b, da []T) {
	clear(da)
	for p := 0; p < prodInts(g.Batch); p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(false, true, g.N, g.K, g.M, 1, dy[p*g.N*g.M:(p+1)*g.N*g.M], g.M, b[ob:ob+g.K*g.M], g.M, 1, da[oa:oa+g.N*g.K], g.K)
	}
}

// MatMulBackwardB accumulates db += aᵀ·dy over all batch entries.
func MatMulBackwardB[T Float](g MatMulGeom, dy, a, db []T) {
	clear(db)
	for p := 0; p < prodInts(g.Batch); p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(true, false, g.K, g.M, g.N, 1, a[oa:oa+g.N*g.K], g.K, dy[p*g.N*g.M:(p+1)*g.N*g.M], g.M, 1, db[ob:ob+g.K*g.M], g.M)
	}
}

func prodInts(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}
