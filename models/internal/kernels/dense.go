package kernels

import (
	"slices"

	"github.com/advcheck/advcheck/models/internal/blas"
)

// DenseBlock is the number of samples every dense matrix product works on.
// A BLAS may round a sample's result differently depending on where the
// sample sits in the product: OpenBLAS's Haswell/Zen SGEMM kernels give rows
// 6–15 of a 16-row left operand other bits than rows 0–5. The engine
// therefore multiplies blocks of exactly DenseBlock samples, padding the last
// one, and puts the samples in the columns of a DenseBlock-column right
// operand (transposed explicitly), which every OpenBLAS kernel measured and
// gonum compute alike: a sample's result is the same bits whatever batch,
// position or shard it is in (TestExactAcrossBatches).
const DenseBlock = 16

// DenseScratch is the scratch DenseForward and DenseBackward need per worker.
func DenseScratch(k, m int) int { return DenseBlock * (k + m) }

// DenseForward computes rows [lo, hi) of y = x·w + b for x (rows×K), w (K×M)
// and b ([M] or nil). scratch holds DenseScratch(k, m) elements.
func DenseForward[T Float](x, w, b, y []T, k, m, lo, hi int, scratch []T) {
	xt, yt := scratch[:DenseBlock*k], scratch[DenseBlock*k:DenseBlock*(k+m)]
	for r := lo; r < hi; r += DenseBlock {
		n := min(DenseBlock, hi-r)
		transposeFrom(xt, x[r*k:(r+n)*k], k, n)
		// yt (M×DenseBlock) = wᵀ·xt (+ b in every column).
		beta := T(0)
		if b != nil {
			for j, bj := range b {
				row := yt[j*DenseBlock : (j+1)*DenseBlock]
				for q := range row {
					row[q] = bj
				}
			}
			beta = 1
		}
		blas.Gemm(true, false, m, DenseBlock, k, 1, w, m, xt, DenseBlock, beta, yt, DenseBlock)
		transposeInto(y[r*m:(r+n)*m], yt, m, n)
	}
}

// DenseBackward computes rows [lo, hi) of dx = dy·wᵀ, in blocks as DenseForward.
func DenseBackward[T Float](dy, w, dx []T, k, m, lo, hi int, scratch []T) {
	dyt, dxt := scratch[:DenseBlock*m], scratch[DenseBlock*m:DenseBlock*(k+m)]
	for r := lo; r < hi; r += DenseBlock {
		n := min(DenseBlock, hi-r)
		transposeFrom(dyt, dy[r*m:(r+n)*m], m, n)
		// dxt (K×DenseBlock) = w·dyt.
		blas.Gemm(false, false, k, DenseBlock, m, 1, w, m, dyt, DenseBlock, 0, dxt, DenseBlock)
		transposeInto(dx[r*k:(r+n)*k], dxt, k, n)
	}
}

// transposeFrom writes the n rows of src (n×cols) as the first n columns of
// t (cols×DenseBlock) and zeroes the other columns.
func transposeFrom[T Float](t, src []T, cols, n int) {
	for j := 0; j < cols; j++ {
		col := t[j*DenseBlock : (j+1)*DenseBlock]
		for q := 0; q < n; q++ {
			col[q] = src[q*cols+j]
		}
		clear(col[n:])
	}
}

// transposeInto writes the first n columns of t (cols×DenseBlock) as the
// rows of dst (n×cols).
func transposeInto[T Float](dst, t []T, cols, n int) {
	for q := 0; q < n; q++ {
		row := dst[q*cols : (q+1)*cols]
		for j := range row {
			row[j] = t[j*DenseBlock+q]
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

// Full reports whether operand batch shape ob is the whole batch shape:
// then every batch entry reads its own matrix of the operand, and its
// gradient entries can be computed apart (in parallel).
func (g MatMulGeom) Full(ob []int) bool { return slices.Equal(ob, g.Batch) }

// MatMulBackwardA computes da = dy·bᵀ for batch entries [lo, hi) of an
// operand a that is not broadcast (g.Full(g.ABatch)): each entry writes its
// own matrix of da.
func MatMulBackwardA[T Float](g MatMulGeom, dy, b, da []T, lo, hi int) {
	for p := lo; p < hi; p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(false, true, g.N, g.K, g.M, 1, dy[p*g.N*g.M:(p+1)*g.N*g.M], g.M, b[ob:ob+g.K*g.M], g.M, 0, da[oa:oa+g.N*g.K], g.K)
	}
}

// MatMulBackwardB computes db = aᵀ·dy for batch entries [lo, hi) of an
// operand b that is not broadcast.
func MatMulBackwardB[T Float](g MatMulGeom, dy, a, db []T, lo, hi int) {
	for p := lo; p < hi; p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(true, false, g.K, g.M, g.N, 1, a[oa:oa+g.N*g.K], g.K, dy[p*g.N*g.M:(p+1)*g.N*g.M], g.M, 0, db[ob:ob+g.K*g.M], g.M)
	}
}

// MatMulBackwardASum accumulates da += dy·bᵀ over all batch entries,
// serially, for a broadcast operand a (several entries read each of its
// matrices).
func MatMulBackwardASum[T Float](g MatMulGeom, dy, b, da []T) {
	clear(da)
	for p := 0; p < prodInts(g.Batch); p++ {
		oa, ob := g.offsets(p)
		blas.Gemm(false, true, g.N, g.K, g.M, 1, dy[p*g.N*g.M:(p+1)*g.N*g.M], g.M, b[ob:ob+g.K*g.M], g.M, 1, da[oa:oa+g.N*g.K], g.K)
	}
}

// MatMulBackwardBSum accumulates db += aᵀ·dy over all batch entries, serially.
func MatMulBackwardBSum[T Float](g MatMulGeom, dy, a, db []T) {
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
