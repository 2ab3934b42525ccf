package models

import (
	"context"
	"errors"
	"fmt"
)

// LossKind selects the loss an attack ascends.
type LossKind int

// The losses. Each is per sample and written so that larger means closer to
// an adversarial example; all use the logits (the tensor before a Softmax head).
const (
	// CrossEntropy: untargeted logsumexp(z) − z_y; targeted z_t − logsumexp(z).
	CrossEntropy LossKind = iota
	// Margin (Carlini & Wagner): untargeted max_{j≠y} z_j − z_y;
	// targeted z_t − max_{j≠t} z_j. Positive exactly when the attack succeeded.
	Margin
	// DLR (Croce & Hein 2020): untargeted −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3);
	// targeted −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), with π sorting z in
	// decreasing order. Needs at least 3 classes (4 when targeted).
	DLR
	// LogitDiff: z_t − z_y, the difference whose sign says which of two
	// classes wins; targeted only. FAB linearises it (Croce & Hein 2020).
	LogitDiff
	// OutputCosine: 1 − cos(f(x), r), the cosine distance of the outputs
	// from a reference r per sample (Objective.Reference, usually the clean
	// outputs): the loss of an output task, where the outputs are an
	// embedding or another vector rather than class scores. 1 when either
	// vector is zero (with a zero gradient).
	OutputCosine
	// OutputMSE: (1/K)·Σ_j (f_j(x) − r_j)², the mean squared distance of the
	// K outputs from the reference.
	OutputMSE
)

// IsOutputLoss reports whether k compares the outputs with a reference
// (OutputCosine, OutputMSE) instead of scoring classes.
func (k LossKind) IsOutputLoss() bool { return k == OutputCosine || k == OutputMSE }

func (k LossKind) String() string {
	switch k {
	case CrossEntropy:
		return "ce"
	case Margin:
		return "margin"
	case DLR:
		return "dlr"
	case LogitDiff:
		return "diff"
	case OutputCosine:
		return "cosine"
	case OutputMSE:
		return "mse"
	}
	return fmt.Sprintf("LossKind(%d)", int(k))
}

// Objective is the loss whose input gradient an attack asks for.
type Objective struct {
	Loss    LossKind
	Labels  []int // true class of each sample, in [0, Classes)
	Targets []int // nil for untargeted attacks; else the target class of each sample
	// Reference holds n×Classes reference outputs for the output losses
	// (OutputCosine, OutputMSE), which use neither Labels nor Targets
	// (Labels may then be nil); nil for the other losses.
	Reference []float32
}

// InputSpec describes the space attacks work in: pixel space, before any
// scaling or normalisation the model applies (see Contract).
type InputSpec struct {
	Shape      []int   // per-sample shape, e.g. [1 28 28] (C×H×W for images)
	Lo, Hi     float64 // valid input values lie in [Lo, Hi]
	Classes    int
	ClassNames []string // one per class, or nil
}

// Size returns the number of values per sample.
func (s InputSpec) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Model is a classifier under attack. x holds n samples in pixel space, each
// InputSpec().Size() float32 values in C order, within [Lo, Hi].
// Implementations are safe for concurrent use.
type Model interface {
	// Spec describes the input space and the classes.
	Spec() InputSpec
	// Logits writes the n×Classes logits of x into dst.
	Logits(ctx context.Context, x []float32, n int, dst []float32) error
	// LossGradient writes the gradient of each sample's objective loss with
	// respect to its input into grad (same layout as x), and from the same
	// forward pass the logits into logits (n×Classes) and the losses into loss
	// (n). logits and loss may be nil.
	LossGradient(ctx context.Context, x []float32, n int, obj Objective, grad, logits []float32, loss []float64) error
}

// Errors. Loading errors wrap ErrBadModel; callers map it to "bad input".
var (
	ErrBadModel  = errors.New("bad model")
	ErrObjective = errors.New("invalid objective")
)

// badModelError marks err as ErrBadModel without changing its text.
type badModelError struct{ err error }

func (e *badModelError) Error() string   { return e.err.Error() }
func (e *badModelError) Unwrap() []error { return []error{ErrBadModel, e.err} }

// CheckObjective validates obj for n samples of a model with the given classes.
func CheckObjective(obj Objective, n, classes int) error {
	if obj.Loss.IsOutputLoss() {
		if len(obj.Reference) != n*classes {
			return fmt.Errorf("%w: the %s loss needs %d×%d reference outputs, got %d values", ErrObjective, obj.Loss, n, classes, len(obj.Reference))
		}
		if obj.Targets != nil {
			return fmt.Errorf("%w: the %s loss has no targets", ErrObjective, obj.Loss)
		}
		return nil
	}
	if obj.Reference != nil {
		return fmt.Errorf("%w: reference outputs given for the %s loss, which scores classes", ErrObjective, obj.Loss)
	}
	if len(obj.Labels) != n {
		return fmt.Errorf("%w: %d labels for %d samples", ErrObjective, len(obj.Labels), n)
	}
	if obj.Targets != nil && len(obj.Targets) != n {
		return fmt.Errorf("%w: %d targets for %d samples", ErrObjective, len(obj.Targets), n)
	}
	for i, y := range obj.Labels {
		if y < 0 || y >= classes {
			return fmt.Errorf("%w: label %d of sample %d is outside [0, %d)", ErrObjective, y, i, classes)
		}
	}
	for i, t := range obj.Targets {
		if t < 0 || t >= classes {
			return fmt.Errorf("%w: target %d of sample %d is outside [0, %d)", ErrObjective, t, i, classes)
		}
	}
	switch obj.Loss {
	case CrossEntropy, Margin:
	case LogitDiff:
		if obj.Targets == nil {
			return fmt.Errorf("%w: the logit difference needs a target per sample", ErrObjective)
		}
	case DLR:
		need := 3
		if obj.Targets != nil {
			need = 4
		}
		if classes < need {
			return fmt.Errorf("%w: the DLR loss needs at least %d classes, the model has %d", ErrObjective, need, classes)
		}
	default:
		return fmt.Errorf("%w: unknown loss %d", ErrObjective, obj.Loss)
	}
	return nil
}
