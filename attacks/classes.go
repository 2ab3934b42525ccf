package attacks

import (
	"fmt"
	"strconv"
)

// CheckClasses says whether attack a can run against a model with classes
// output classes: a class-number target must be one of them, a targeted
// attack needs a class besides the label, the DLR loss needs three classes
// (four when targeted) and apgd-t and fab-t need targets+1. Without this check the
// same mistakes surface in the middle of a run, after the first batch.
// Errors wrap ErrSpec.
func CheckClasses(a Attack, classes int) error {
	p := a.Params()
	target, _ := p["target"].(string)
	targeted := target != ""
	if c, err := strconv.Atoi(target); err == nil && (c < 0 || c >= classes) {
		return fmt.Errorf("%w: %s: target=%d, but the model's classes are 0 to %d", ErrSpec, a.Name(), c, classes-1)
	}
	if targeted && classes < 2 {
		return fmt.Errorf("%w: %s: a targeted attack needs at least 2 classes, the model has %d", ErrSpec, a.Name(), classes)
	}
	if a.Name() == "apgd-t" || a.Name() == "fab-t" {
		n, _ := p["targets"].(int)
		if n+1 > classes {
			return fmt.Errorf("%w: %s with %d targets needs at least %d classes, the model has %d", ErrSpec, a.Name(), n, n+1, classes)
		}
		targeted = true
	}
	if loss, _ := p["loss"].(string); loss == "dlr" {
		need := 3
		if targeted {
			need = 4
		}
		if classes < need {
			return fmt.Errorf("%w: %s: the DLR loss needs at least %d classes, the model has %d", ErrSpec, a.Name(), need, classes)
		}
	}
	return nil
}
