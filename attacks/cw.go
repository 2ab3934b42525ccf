package attacks

import (
	"context"
	"fmt"
	"math"

	"github.com/advcheck/advcheck/models"
)

// CW is the Carlini-Wagner L2 attack (Carlini & Wagner 2017), as in the
// authors' code and its PyTorch port in adv_lib: a change of variable
// x' = lo + (hi−lo)·(tanh(w)+1)/2 keeps every iterate in the bounds, and Adam
// minimises ‖x'−x‖₂² + c·max(z_y − max_{j≠y} z_j + κ, 0) over w from the
// clean input, for Steps iterations. A binary search over c (BinarySteps
// rounds, from InitialConst; c ×10 while no adversarial point has been found,
// then bisection) trades distance for success. Every iterate the model
// misclassifies (with confidence κ) and that is closer than the best so far
// becomes the answer. With AbortEarly a round stops when the objective has
// not dropped by 0.01 % over the last Steps/10 iterations.
//
// One deliberate deviation: the reference stops a round when the objective of
// every sample of the batch has stalled; here each sample stops on its own,
// so its result does not depend on its batch-mates.
type CW struct {
	base
	steps        int
	binarySteps  int
	initialConst float64
	lr           float64
	confidence   float64
	abortEarly   bool
}

func init() {
	register("cw", "Carlini-Wagner L2 (Carlini & Wagner 2017): minimal L2 perturbation, Adam on a tanh box with a binary search over c", func() (Attack, *base, func() error) {
		a := &CW{steps: 10000, binarySteps: 9, initialConst: 1e-3, lr: 1e-2, abortEarly: true}
		a.name = "cw"
		a.bind(
			param{name: "steps", doc: "Adam iterations per binary-search round", ptr: &a.steps},
			param{name: "binary_steps", doc: "rounds of the binary search over c (at most 64)", ptr: &a.binarySteps},
			param{name: "c", doc: "initial trade-off constant c", ptr: &a.initialConst},
			param{name: "lr", doc: "Adam learning rate", ptr: &a.lr},
			param{name: "confidence", doc: "margin κ the adversarial class must win by", ptr: &a.confidence},
			param{name: "abort_early", doc: "end a round when the objective stalls (checked every steps/10 iterations)", ptr: &a.abortEarly},
		)
		return a, &a.base, func() error {
			if a.steps < 1 || a.binarySteps < 1 || a.binarySteps > 64 || a.initialConst <= 0 || a.lr <= 0 || a.confidence < 0 {
				return fmt.Errorf("steps must be positive, binary_steps in 1…64, c and lr positive, confidence ≥ 0")
			}
			return nil
		}
	})
}

// Norm implements Attack: CW minimises the L2 distance.
func (a *CW) Norm() Norm { return L2 }

// Run implements Attack.
func (a *CW) Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error {
	return minimizerRun(ctx, a, m, b, eps, seeds, adv, res)
}

// RunSweep implements EpsSweeper: one minimisation for every eps.
func (a *CW) RunSweep(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error {
	return minimizerSweep(ctx, a, m, b, eps, seeds, adv, res)
}

// Doubled implements Doubler: twice the iterations per round.
func (a *CW) Doubled() Attack { return withParam(a, "steps", fmt.Sprint(2*a.steps)) }

// Minimize implements Minimizer.
func (a *CW) Minimize(ctx context.Context, m models.Model, b Batch, seeds Seeds, adv []float32, dist []float64, res *Result) error {
	if err := checkMinimize(m, b, adv, dist); err != nil {
		return err
	}
	startMinimize(b, adv, dist)
	spec := m.Spec()
	n, size, k := b.Len(), spec.Size(), spec.Classes
	if n == 0 {
		return nil
	}
	lo, width := spec.Lo, spec.Hi-spec.Lo
	// t0 = atanh of the clean input in tanh space, shrunk by 1−1e-6 so that
	// inputs at the bounds stay finite (as the reference does).
	t0 := make([]float32, n*size)
	for q, v := range b.X {
		u := (float64(v)-lo)/width*2 - 1
		t0[q] = float32(math.Atanh(u * (1 - 1e-6)))
	}
	c := make([]float64, n)
	lower := make([]float64, n)
	upper := make([]float64, n)
	for i := range c {
		c[i], upper[i] = a.initialConst, 1e10
	}
	w := make([]float32, n*size)
	m1 := make([]float32, n*size)
	m2 := make([]float32, n*size)
	th := make([]float64, n*size) // tanh(t0+w) of the active rows
	cur := make([]float32, n*size)
	grad := make([]float32, n*size)
	logits := make([]float32, n*k)
	scratch := make([]float32, size)
	shifted := make([]float32, k)
	prev := make([]float64, n)
	found := make([]bool, n)
	roundBest := make([]float64, n)
	check := max(a.steps/10, 1)
	const beta1, beta2 = 0.9, 0.999
	for round := 0; round < a.binarySteps; round++ {
		clear(w)
		clear(m1)
		clear(m2)
		if a.binarySteps >= 10 && round == a.binarySteps-1 {
			copy(c, upper) // the reference repeats the search once at the upper bound
		}
		rows := all(n)
		for i := range prev {
			prev[i], found[i], roundBest[i] = math.Inf(1), false, math.Inf(1)
		}
		for it := 0; it < a.steps && len(rows) > 0; it++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			na := len(rows)
			for j, i := range rows {
				for q := 0; q < size; q++ {
					t := math.Tanh(float64(t0[i*size+q] + w[i*size+q]))
					th[j*size+q] = t
					cur[j*size+q] = float32(lo + width*(t+1)/2)
				}
			}
			obj := models.Objective{Loss: models.Margin, Labels: pick(b.Labels, rows)}
			if err := m.LossGradient(ctx, cur[:na*size], na, obj, grad[:na*size], logits[:na*k], nil); err != nil {
				return err
			}
			res.addQueries(rows, 1)
			bc1 := 1 - math.Pow(beta1, float64(it+1))
			bc2 := 1 - math.Pow(beta2, float64(it+1))
			keep := 0
			for j, i := range rows {
				row, x, p := logits[j*k:(j+1)*k], b.X[i*size:(i+1)*size], cur[j*size:(j+1)*size]
				y := b.Labels[i]
				l2sq := 0.0
				for q, v := range p {
					d := float64(v) - float64(x[q])
					l2sq += d * d
				}
				// Misclassified with confidence κ: argmax(z + κ·e_y) ≠ y.
				copy(shifted, row)
				shifted[y] += float32(a.confidence)
				if argmax(shifted) != y {
					if l2 := math.Sqrt(l2sq); l2 < roundBest[i] {
						roundBest[i], found[i] = l2, true
					}
					offerMin(L2, b, i, size, row, p, adv, dist, scratch)
				}
				f := -lossOf(models.Margin, row, y, -1) + a.confidence // z_y − max_{j≠y} z_j + κ
				loss := l2sq + c[i]*math.Max(f, 0)
				if a.abortEarly && it%check == 0 {
					if loss > prev[i]*0.9999 {
						continue // this sample's round ends
					}
					prev[i] = loss
				}
				// ∂loss/∂x' = 2(x'−x) − c·∇margin where the hinge is active
				// (torch's clamp passes the gradient at 0 too); then through
				// x' = lo + width·(tanh(t0+w)+1)/2.
				hinge := 0.0
				if f >= 0 {
					hinge = c[i]
				}
				g := grad[j*size : (j+1)*size]
				wi, mi, vi := w[i*size:(i+1)*size], m1[i*size:(i+1)*size], m2[i*size:(i+1)*size]
				for q := range wi {
					t := th[j*size+q]
					dl := 2*(float64(p[q])-float64(x[q])) - hinge*float64(g[q])
					gw := dl * width / 2 * (1 - t*t)
					mv := beta1*float64(mi[q]) + (1-beta1)*gw
					vv := beta2*float64(vi[q]) + (1-beta2)*gw*gw
					mi[q], vi[q] = float32(mv), float32(vv)
					denom := math.Sqrt(float64(vi[q]))/math.Sqrt(bc2) + 1e-8
					wi[q] -= float32(a.lr / bc1 * float64(mi[q]) / denom)
				}
				rows[keep] = i
				keep++
			}
			rows = rows[:keep]
		}
		for i := range c {
			if found[i] {
				upper[i] = math.Min(upper[i], c[i])
			} else {
				lower[i] = math.Max(lower[i], c[i])
			}
			if upper[i] < 1e9 {
				c[i] = (lower[i] + upper[i]) / 2
			} else if !found[i] {
				c[i] *= 10
			}
		}
	}
	return nil
}
