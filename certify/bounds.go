// Package certify proves lower bounds on the robustness of a classifier
// given as an advcheck IR graph: for a labelled input x, a radius eps and the
// valid input box [lo, hi], it bounds from below
//
//	min over x' with ‖x' − x‖∞ ≤ eps, lo ≤ x' ≤ hi of  min_{j≠y} z_y(x') − z_j(x')
//
// where z are the graph's outputs (logits). When that bound is positive no
// perturbation in the ball changes the prediction: the sample is certified.
//
// Two methods are offered. IBP (interval bound propagation, Gowal et al.
// 2018) pushes one interval per activation forward through the graph. CROWN
// (Zhang et al. 2018) bounds each output by a linear function of the input,
// built backwards through linear relaxations of the activations, and uses it
// for the intermediate bounds of pre-activations as well; its result is
// intersected with IBP's, so it is never looser.
//
// Bounds are computed in float64 with outward rounding: every interval and
// every linear bound is widened by a bound on its floating-point error, so a
// certificate holds for the model evaluated in exact arithmetic on its
// float64 weights (docs/certify.md gives the argument).
//
//	v := certify.NewVerifier(m.Graph())
//	c, err := v.Certify(ctx, x, 0.1, 0, 1, certify.CROWN, label)
//	if err != nil { ... }           // bad input: wrong length, label, eps
//	if c.StoppedBy != "" { ... }    // an op without sound bounds; not certified
//	fmt.Println(c.Certified, c.Margin)
package certify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/advcheck/advcheck/models/ir"
)

// Method selects how bounds are propagated.
type Method int

// The methods.
const (
	// IBP propagates intervals forward; the last linear layers are folded
	// into the margin before their interval is taken (elision).
	IBP Method = iota
	// CROWN propagates linear bounds backwards from the margin and from
	// every pre-activation small enough (Verifier.MaxRefine), intersected
	// with IBP's.
	CROWN
)

func (m Method) String() string {
	switch m {
	case IBP:
		return "ibp"
	case CROWN:
		return "crown"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod reads "ibp" or "crown".
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ibp":
		return IBP, nil
	case "crown":
		return CROWN, nil
	}
	return 0, fmt.Errorf("%w: method %q (want ibp or crown)", ErrInput, s)
}

// ErrInput reports a call that cannot be answered: an input of the wrong
// length or outside the box, a label out of range, a negative eps.
var ErrInput = errors.New("certify: bad input")

// Certificate is the answer for one labelled sample and one eps.
type Certificate struct {
	// Certified is Margin > 0: every input in the ball is classified as the label.
	Certified bool
	// Margin is a lower bound of min_{j≠label} z_label − z_j over the ball,
	// −Inf when a node stopped the propagation.
	Margin float64
	// StoppedBy names the first node whose op has no sound bound here,
	// e.g. `Softmax node "/softmax"`; "" when every node was bounded.
	StoppedBy string
}

// DefaultMaxRefine is the default of Verifier.MaxRefine.
const DefaultMaxRefine = 1024

// maxRefineCoefficients caps the coefficients one refinement may hold for
// one value (2·size × the largest activation below it): 2²⁵ float64, 256 MiB.
const maxRefineCoefficients = 1 << 25

// Verifier certifies samples of one graph. It is safe for concurrent use:
// Certify keeps its state per call.
type Verifier struct {
	g     *ir.Graph
	index map[*ir.Value]int // producer node index of each node output
	abs   map[*ir.Value]*ir.Tensor
	wide  map[*ir.Value]*ir.Tensor // each constant with its values in Data (see constant)
	bcast map[*ir.Node][]float64   // Binary with a constant: the constant broadcast to the output
	terms int                      // values of the input and all node outputs, per sample
	// MaxRefine is the largest pre-activation (in values per sample) whose
	// bounds CROWN refines by a backward pass of its own; larger ones keep
	// their IBP bounds. The cost of a refinement grows with this size times
	// the size of every layer below it. 0 means DefaultMaxRefine; a negative
	// value refines none (CROWN on the margin only, with IBP bounds inside).
	// A refinement is also skipped when 2·size times the largest activation
	// below it passes 2²⁵ coefficients (256 MiB).
	MaxRefine int
}

// NewVerifier prepares g (the graph of a loaded model, models.Classifier.Graph)
// for certification. g is read, never changed, and must not change while
// the verifier is in use.
func NewVerifier(g *ir.Graph) *Verifier {
	v := &Verifier{g: g, index: map[*ir.Value]int{}, abs: map[*ir.Value]*ir.Tensor{}, wide: map[*ir.Value]*ir.Tensor{}, bcast: map[*ir.Node][]float64{}}
	v.terms = g.Input.Shape.PerSample()
	for i, n := range g.Nodes {
		v.index[n.Output] = i
		v.terms += n.Output.Shape.PerSample()
		for _, in := range n.Inputs {
			if in.IsConst() && v.abs[in] == nil {
				c := in.Const
				if c.F32 != nil {
					c = &ir.Tensor{Shape: c.Shape, Data: c.Float64s()}
				}
				v.wide[in] = c
				t := &ir.Tensor{Shape: c.Shape, Data: make([]float64, len(c.Data))}
				for k, x := range c.Data {
					t.Data[k] = math.Abs(x)
				}
				v.abs[in] = t
			}
		}
		if _, ok := n.Op.(ir.Binary); ok && len(n.Inputs) == 2 && n.Inputs[0].IsConst() != n.Inputs[1].IsConst() {
			c := n.Inputs[0]
			if !c.IsConst() {
				c = n.Inputs[1]
			}
			out := shape1(n.Output)
			// The constant broadcast to the output: Add of zeros does it.
			zero := ir.NewTensor(out...)
			if t, err := ir.EvalOp(ir.Binary{Op: ir.Add}, []*ir.Tensor{zero, v.constant(c)}, out); err == nil {
				v.bcast[n] = t.Data
			}
		}
	}
	return v
}

// constant returns the constant in with its values in Data: the graph's
// float32 weights (ir.Tensor.F32) are widened once, here.
func (v *Verifier) constant(in *ir.Value) *ir.Tensor { return v.wide[in] }

// Bounds certifies one sample: x is one input in pixel space (the graph's
// input shape without the batch, C order), eps the L∞ radius, [lo, hi] the
// valid input box, label the true class. It is NewVerifier(g).Certify; use a
// Verifier to certify many samples of one model.
func Bounds(ctx context.Context, g *ir.Graph, x []float64, eps, lo, hi float64, method Method, label int) (Certificate, error) {
	return NewVerifier(g).Certify(ctx, x, eps, lo, hi, method, label)
}

// Certify bounds the margin of label over the L∞ ball of radius eps around
// x intersected with [lo, hi]. Errors wrap ErrInput or come from ctx; an op
// without bounds is not an error but a Certificate with StoppedBy set.
func (v *Verifier) Certify(ctx context.Context, x []float64, eps, lo, hi float64, method Method, label int) (Certificate, error) {
	if label < 0 || label >= v.g.Classes {
		return Certificate{}, fmt.Errorf("%w: label %d, the model has %d classes", ErrInput, label, v.g.Classes)
	}
	if !(eps >= 0) || math.IsInf(eps, 0) {
		return Certificate{}, fmt.Errorf("%w: eps %v", ErrInput, eps)
	}
	xl, xu, err := v.inputBox(x, eps, lo, hi)
	if err != nil {
		return Certificate{}, err
	}
	rows := specRows(v.g.Classes, label)
	lower, stop, err := v.specLower(ctx, xl, xu, method, rows, v.g.Classes-1)
	if err != nil || stop != "" {
		return Certificate{Margin: math.Inf(-1), StoppedBy: stop}, err
	}
	m := math.Inf(1)
	for _, b := range lower {
		m = math.Min(m, b)
	}
	if math.IsNaN(m) {
		m = math.Inf(-1)
	}
	return Certificate{Certified: m > 0, Margin: m}, nil
}

// OutputBounds returns bounds of every output (logit) over the box
// [xl, xu] (one input, in pixel space): lo[k] ≤ z_k(x') ≤ hi[k] for every x'
// in the box. stop names the node that stopped the propagation, with nil
// bounds, or is "".
func (v *Verifier) OutputBounds(ctx context.Context, xl, xu []float64, method Method) (lo, hi []float64, stop string, err error) {
	if err := v.checkBox(xl, xu); err != nil {
		return nil, nil, "", err
	}
	k := v.g.Classes
	rows := make([]float64, 2*k*k)
	for j := 0; j < k; j++ {
		rows[j*k+j] = 1
		rows[(k+j)*k+j] = -1
	}
	lower, stop, err := v.specLower(ctx, xl, xu, method, rows, 2*k)
	if err != nil || stop != "" {
		return nil, nil, stop, err
	}
	lo, hi = lower[:k], make([]float64, k)
	for j := range hi {
		hi[j] = -lower[k+j]
	}
	return lo, hi, "", nil
}

// specRows returns the K−1 rows e_y − e_j (j ≠ y) over K outputs.
func specRows(k, y int) []float64 {
	rows := make([]float64, (k-1)*k)
	r := 0
	for j := 0; j < k; j++ {
		if j == y {
			continue
		}
		rows[r*k+y], rows[r*k+j] = 1, -1
		r++
	}
	return rows
}

// specLower returns lower bounds of rows·z over the box (rows is n×Classes).
func (v *Verifier) specLower(ctx context.Context, xl, xu []float64, method Method, rows []float64, n int) ([]float64, string, error) {
	s := v.newState(xl, xu)
	if stop, err := s.forward(ctx, method); err != nil || stop != "" {
		return nil, stop, err
	}
	lower, err := s.backward(ctx, v.g.Output, rows, n, false)
	if err != nil {
		return nil, "", err
	}
	if method == CROWN {
		lc, err := s.backward(ctx, v.g.Output, rows, n, true)
		if err != nil {
			return nil, "", err
		}
		for i := range lower {
			if lc[i] > lower[i] || math.IsNaN(lower[i]) {
				lower[i] = lc[i]
			}
		}
	}
	return lower, "", nil
}

func (v *Verifier) inputBox(x []float64, eps, lo, hi float64) (xl, xu []float64, err error) {
	want := v.g.Input.Shape.PerSample()
	if len(x) != want {
		return nil, nil, fmt.Errorf("%w: x has %d values, the model takes %d (%v)", ErrInput, len(x), want, v.g.Input.Shape)
	}
	if !(lo <= hi) {
		return nil, nil, fmt.Errorf("%w: bounds [%v, %v]", ErrInput, lo, hi)
	}
	xl, xu = make([]float64, want), make([]float64, want)
	for i, xi := range x {
		if !(xi >= lo && xi <= hi) {
			return nil, nil, fmt.Errorf("%w: x[%d] = %v is outside the bounds [%v, %v]", ErrInput, i, xi, lo, hi)
		}
		// x ± eps rounded outwards, then cut to the box.
		xl[i] = math.Max(lo, math.Nextafter(xi-eps, math.Inf(-1)))
		xu[i] = math.Min(hi, math.Nextafter(xi+eps, math.Inf(1)))
	}
	return xl, xu, nil
}

func (v *Verifier) checkBox(xl, xu []float64) error {
	want := v.g.Input.Shape.PerSample()
	if len(xl) != want || len(xu) != want {
		return fmt.Errorf("%w: the box has %d and %d values, the model takes %d (%v)", ErrInput, len(xl), len(xu), want, v.g.Input.Shape)
	}
	for i := range xl {
		if !(xl[i] <= xu[i]) || math.IsInf(xl[i], 0) || math.IsInf(xu[i], 0) {
			return fmt.Errorf("%w: box [%v, %v] at %d", ErrInput, xl[i], xu[i], i)
		}
	}
	return nil
}

// shape1 is a value's shape for one sample (the batch dimension set to 1):
// its C-order layout is that of one sample.
func shape1(v *ir.Value) []int { return v.Shape.Concrete(1) }

// Floating-point error bounds (Higham, Accuracy and Stability of Numerical
// Algorithms, §3.1): a sum of n products computed in any order in binary64
// with round to nearest is within gamma(n)·Σ|terms| of the exact value.
const unit = 0x1p-53 // unit roundoff of binary64

// gamma returns γ_{n+2} = (n+2)u/(1−(n+2)u), the bound for n products summed
// plus two more roundings, with a small safety factor.
func gamma(n int) float64 {
	k := float64(n+2) * unit
	return k / (1 - k) * (1 + 0x1p-20)
}

// tiny bounds the absolute error that underflow can add to one operation.
const tiny = 0x1p-1070

func down(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }
func up(x float64) float64   { return math.Nextafter(x, math.Inf(1)) }
