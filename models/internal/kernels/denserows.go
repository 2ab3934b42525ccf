package kernels

import "github.com/advcheck/advcheck/models/internal/blas"

// DenseRowsMin is the fewest rows per sample for which a dense layer
// multiplies each sample's rows in products of their own (DenseRows)
// instead of in DenseBlock-column blocks: a transformer's tokens, a
// ConvNeXt's pixels. A block product packs the whole weight for 16 rows,
// which costs as much as the product itself when the weight is large.
const DenseRowsMin = 32

// DenseRowsPiece is the most rows of one per-sample product; a sample with
// more rows is cut at fixed offsets (0, DenseRowsPiece, …), so that a batch
// of one still keeps every worker busy.
const DenseRowsPiece = 256

// DenseRows is the geometry of a dense layer y = x·w + b over x [A×N×B×K]
// (A and B products of the axes before and after the batch axis N), whose
// products each take rows of one sample: B ≥ DenseRowsMin contiguous rows
// (batch axis first, A = 1, or any A), or, with B = 1, the A rows of a
// sample N·K elements apart (sequence-first tensors such as [L×N×E]).
//
// A sample's rows are always multiplied at the same offsets, in products of
// the same shape, whatever the batch size and the sample's place in it: its
// results are the same bits in every batch (TestDenseRowsExact), as the
// block products guarantee for the other layers.
type DenseRows struct {
	A, N, B, K, M int
}

// UseDenseRows reports whether a dense layer over x with the given IR
// sizes (a before the batch axis, b after it, without K) is better computed
// per sample.
func UseDenseRows(a, b int) bool {
	return b >= DenseRowsMin || (b == 1 && a >= DenseRowsMin)
}

// span is the sequence of rows the products run along: sequences of len
// rows, stride rows apart, one per (outer index, sample).
func (g DenseRows) span() (seqs, length, stride int) {
	if g.B == 1 {
		return g.N, g.A, g.N
	}
	return g.A * g.N, g.B, 1
}

// Items is the number of products: every sequence cut into pieces.
func (g DenseRows) Items() int {
	seqs, length, _ := g.span()
	return seqs * ((length + DenseRowsPiece - 1) / DenseRowsPiece)
}

// item returns the first row of product it, its rows and their stride.
func (g DenseRows) item(it int) (first, rows, stride int) {
	_, length, stride := g.span()
	pieces := (length + DenseRowsPiece - 1) / DenseRowsPiece
	seq, p := it/pieces, it%pieces
	rows = min(DenseRowsPiece, length-p*DenseRowsPiece)
	if g.B == 1 {
		// Sequence seq is sample seq: rows l·N + seq.
		return p*DenseRowsPiece*g.N + seq, rows, stride
	}
	return seq*g.B + p*DenseRowsPiece, rows, stride
}

// DenseRowsScratch is the scratch per worker DenseRowsBackward needs with a
// fused ReLU (the masked output gradient of one product).
func DenseRowsScratch(m int) int { return DenseRowsPiece * m }

// DenseRowsForward computes products [lo, hi) of y = x·w + b (b [M] or
// nil), followed by a ReLU with relu.
func DenseRowsForward[T Float](g DenseRows, x, w, b, y []T, relu bool, lo, hi int) {
	for it := lo; it < hi; it++ {
		first, rows, stride := g.item(it)
		beta := T(0)
		if b != nil {
			for r := 0; r < rows; r++ {
				copy(y[(first+r*stride)*g.M:(first+r*stride+1)*g.M], b)
			}
			beta = 1
		}
		blas.Gemm(false, false, rows, g.M, g.K, 1, x[first*g.K:], stride*g.K, w, g.M, beta, y[first*g.M:], stride*g.M)
		if relu {
			for r := 0; r < rows; r++ {
				row := y[(first+r*stride)*g.M : (first+r*stride+1)*g.M]
				UnaryForward(Unary{Kind: Relu}, row, row)
			}
		}
	}
}

// DenseRowsBackward computes products [lo, hi) of dx = dy·wᵀ. With y (the
// output of a fused ReLU) non-nil, dy is first masked where y ≤ 0, in
// scratch (DenseRowsScratch(M) elements).
func DenseRowsBackward[T Float](g DenseRows, dy, w, dx, y []T, lo, hi int, scratch []T) {
	for it := lo; it < hi; it++ {
		first, rows, stride := g.item(it)
		src, ld := dy[first*g.M:], stride*g.M
		if y != nil {
			mask := scratch[:rows*g.M]
			for r := 0; r < rows; r++ {
				off := (first + r*stride) * g.M
				UnaryBackward(Unary{Kind: Relu}, nil, y[off:off+g.M], dy[off:off+g.M], mask[r*g.M:(r+1)*g.M])
			}
			src, ld = mask, g.M
		}
		blas.Gemm(false, true, rows, g.K, g.M, 1, src, ld, w, g.M, 0, dx[first*g.K:], stride*g.K)
	}
}
