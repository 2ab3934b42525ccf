package reports

import (
	"fmt"

	"github.com/advcheck/advcheck/attacks/corruption"
)

// packageCorruption is a corruption of package attacks/corruption.
type packageCorruption struct {
	name      string
	scale     corruption.Scale
	published bool
}

// NewCorruption returns the corruption name of package attacks/corruption
// for samples of shape (C, H, W). It fails with the package's errors
// (corruption.ErrUnknown for a name it does not know, corruption.ErrShape
// for a shape it cannot corrupt).
func NewCorruption(name string, shape []int) (Corruption, error) {
	if err := corruption.Check(name, MinSeverity); err != nil {
		return nil, err
	}
	if len(shape) != 3 || (shape[0] != 1 && shape[0] != 3) {
		return nil, fmt.Errorf("%w: the corruptions need images of 1 or 3 channels (C,H,W), the model takes %v", corruption.ErrShape, shape)
	}
	sc, published, err := corruption.ScaleOf(shape[1], shape[2])
	if err != nil {
		return nil, err
	}
	return &packageCorruption{name: name, scale: sc, published: published}, nil
}

// CorruptionNames lists the corruptions NewCorruption knows, in the
// benchmark's order.
func CorruptionNames() []string { return corruption.Names() }

func (c *packageCorruption) Name() string { return c.name }

// Params records the parameter set the input size selected, and whether it
// is the size that set was published for.
func (c *packageCorruption) Params() map[string]any {
	return map[string]any{"scale": string(c.scale), "published_size": c.published}
}

func (c *packageCorruption) Corrupt(dst, x []float32, shape []int, severity int, seed uint64, index int) error {
	_, err := corruption.ApplyBatch(dst, c.name, severity, x, 1, shape[0], shape[1], shape[2], corruption.Config{Seed: seed}, index)
	return err
}
