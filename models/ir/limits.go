package ir

// Limits on what a graph may make the engine allocate, per sample, and on
// what import itself may allocate.
const (
	MaxValueElements = 1 << 24 // one activation tensor per sample, or one folded constant
	MaxGraphElements = 1 << 27 // all activations together, per sample
	MaxFoldElements  = 1 << 25 // all constants created by folding together, beyond what the file stores (256 MiB as float64)
	maxFoldCost      = 1 << 28 // multiply-adds spent folding constants at import
)

// Limits bound the tensors that import creates itself: constants folded
// from constant inputs (ConstantOfShape, Gather, Cast, broadcast arithmetic,
// Pad, Concat, Transpose of a constant…) and the per-sample activations the
// graph will need. Tensors stored in the file are bounded by the decoder's
// onnx.Limits. A zero field takes its default; a field above its default is
// capped by it, since the defaults are what the engine can hold.
type Limits struct {
	// MaxTensorElements bounds one folded constant and the per-sample
	// elements of one activation.
	MaxTensorElements int64
	// MaxFoldElements bounds the elements of all folded constants together,
	// beyond the elements of the constants the file stores, so that many
	// tensors each under MaxTensorElements cannot exhaust memory.
	MaxFoldElements int64
}

// DefaultLimits returns the largest limits: MaxValueElements per tensor and
// MaxFoldElements in all.
func DefaultLimits() Limits {
	return Limits{MaxTensorElements: MaxValueElements, MaxFoldElements: MaxFoldElements}
}

// capped fills zero fields from DefaultLimits and caps the others by it.
func (l Limits) capped() Limits {
	def := DefaultLimits()
	if l.MaxTensorElements <= 0 || l.MaxTensorElements > def.MaxTensorElements {
		l.MaxTensorElements = def.MaxTensorElements
	}
	if l.MaxFoldElements <= 0 || l.MaxFoldElements > def.MaxFoldElements {
		l.MaxFoldElements = def.MaxFoldElements
	}
	return l
}

// reserve accounts for a constant of the given shape that import is about
// to create, before it is allocated: the tensor must fit MaxTensorElements,
// and all folded constants together MaxFoldElements plus the elements the
// file stores.
func (im *importer) reserve(what string, shape []int) error {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return errorf(ErrInvalid, "%s has a negative dimension in %v", what, shape)
		}
		if d > 0 && n > (1<<40)/d {
			n = -1 // overflow: far over any limit
			break
		}
		n *= d
	}
	if n < 0 || int64(n) > im.lim.MaxTensorElements {
		return errorf(ErrLimit, "%s of shape %v would hold more than the limit of %d elements per tensor", what, shape, im.lim.MaxTensorElements)
	}
	// Folding may rewrite every stored constant (a Transpose on each weight
	// of an NHWC export), so the budget grows with what the file stores;
	// the decoder's limits bound that.
	if budget := im.lim.MaxFoldElements + int64(im.stored); int64(im.folded)+int64(n) > budget {
		return errorf(ErrLimit, "%s of shape %v would take the constants folded at import over the limit of %d elements in all (%d more than the model stores)", what, shape, budget, im.lim.MaxFoldElements)
	}
	im.folded += n
	return nil
}
