package attacks

import (
	"fmt"

	"github.com/advcheck/advcheck/models"
)

// An output task attacks a model whose outputs are not class scores (an
// embedding, a feature vector, a dense map): a Batch with Reference set. The
// attack maximises the batch's OutputLoss — the distance of the outputs
// from the reference (the clean outputs) — instead of a classification loss.
// There are no classes, so no sample is ever broken: every attack spends its
// whole budget and keeps each sample's highest-loss point. The loss is a
// distance to the clean output, whose gradient at the clean input is zero,
// so the iterations that start there (FGSM, BIM, MI-FGSM) start instead at a
// uniformly random point of the eps-ball, as PGD does; FGSM is then one step
// of size eps from that point. Attacks that need
// class decisions (targets, the DLR or margin losses, FAB-like boundary
// searches) do not apply; OutputTasker says which do.

// OutputTasker is implemented by attacks that can run an output task. It
// returns nil when the attack, as configured, applies, and otherwise why
// not. The report engine refuses attacks that do not implement it.
type OutputTasker interface {
	OutputTask() error
}

// OutputRandomStarter is implemented by the attacks whose iteration starts
// at the clean input: under an output task, where the output loss's
// gradient there is zero, they start at a uniformly random point of the
// eps-ball instead. OutputRandomStart reports whether the attack, as
// configured, would otherwise start at the clean input (the report then
// records random_start as true).
type OutputRandomStarter interface {
	OutputRandomStart() bool
}

// OutputRandomStart implements OutputRandomStarter: FGSM starts at the clean input.
func (a *FGSM) OutputRandomStart() bool { return true }

// OutputRandomStart implements OutputRandomStarter: BIM (PGD without a
// random start) starts at the clean input.
func (a *PGD) OutputRandomStart() bool { return !a.randomStart }

// OutputRandomStart implements OutputRandomStarter: MI-FGSM starts at the clean input.
func (a *MIFGSM) OutputRandomStart() bool { return true }

// isOutput reports whether b is an output task.
func (b Batch) isOutput() bool { return b.Reference != nil }

// objective is the objective of the samples rows of b (nil: all of them):
// the attack's classification loss with labels and targets, or the batch's
// output loss with the rows' reference outputs.
func (b Batch) objective(loss models.LossKind, rows, targets []int, k int) models.Objective {
	if rows == nil {
		rows = all(b.Len())
	}
	if b.isOutput() {
		ref := make([]float32, len(rows)*k)
		gather(ref, b.Reference, rows, k)
		return models.Objective{Loss: b.OutputLoss, Reference: ref}
	}
	return models.Objective{Loss: loss, Labels: pick(b.Labels, rows), Targets: pick(targets, rows)}
}

// brokenAt reports whether the output row of sample i shows success (see
// broken); never for an output task.
func (b Batch) brokenAt(row []float32, i, target int) bool {
	if b.isOutput() {
		return false
	}
	return broken(row, b.Labels[i], target)
}

// lossAt is the loss of sample i's output row: the attack's loss (see
// lossOf), or the batch's output loss against its reference.
func (b Batch) lossAt(kind models.LossKind, row []float32, i, target int) float64 {
	if !b.isOutput() {
		return lossOf(kind, row, b.Labels[i], target)
	}
	k := len(row)
	ref := b.Reference[i*k : (i+1)*k]
	obj := models.Objective{Loss: b.OutputLoss, Reference: ref}
	return outputLoss(obj, row)
}

// outputLoss computes an output loss of one row in float64, by the same
// definitions the models package differentiates.
func outputLoss(obj models.Objective, row []float32) float64 {
	var zr, zz, rr, sq float64
	for j, v := range row {
		z, r := float64(v), float64(obj.Reference[j])
		zr += z * r
		zz += z * z
		rr += r * r
		sq += (z - r) * (z - r)
	}
	if obj.Loss == models.OutputMSE {
		return sq / float64(len(row))
	}
	if zz == 0 || rr == 0 {
		return 1
	}
	return 1 - zr/(sqrt(zz)*sqrt(rr))
}

// untargetedOutputTask is OutputTask for the attacks with a loss and a
// target parameter: they apply untargeted with their default loss, which
// the output loss replaces.
func untargetedOutputTask(loss, def models.LossKind, target string) error {
	if target != "" {
		return fmt.Errorf("target=%s needs classes; an output task has none", target)
	}
	if loss != def {
		return fmt.Errorf("loss=%s scores classes; an output task attacks the output loss (cosine or mse) instead", loss)
	}
	return nil
}

// OutputTask implements OutputTasker: untargeted, with the default loss.
func (a *FGSM) OutputTask() error { return untargetedOutputTask(a.loss, models.CrossEntropy, a.target) }

// OutputTask implements OutputTasker: untargeted, with the default loss.
func (a *PGD) OutputTask() error { return untargetedOutputTask(a.loss, models.CrossEntropy, a.target) }

// OutputTask implements OutputTasker: untargeted, with the default loss.
func (a *MIFGSM) OutputTask() error {
	return untargetedOutputTask(a.loss, models.CrossEntropy, a.target)
}

// OutputTask implements OutputTasker: APGD-CE applies (the output loss
// replaces the cross-entropy); APGD-DLR and APGD-T need class scores.
func (a *APGD) OutputTask() error {
	if a.targets > 0 {
		return fmt.Errorf("a targeted attack needs classes; an output task has none")
	}
	if a.loss != models.CrossEntropy {
		return fmt.Errorf("the %s loss scores classes; an output task attacks the output loss (cosine or mse) instead", a.loss)
	}
	return nil
}

// OutputTask implements OutputTasker: the search lowers −loss, the output
// loss in place of the margin.
func (a *Square) OutputTask() error {
	if a.loss != models.Margin {
		return fmt.Errorf("loss=%s scores classes; an output task attacks the output loss (cosine or mse) instead", a.loss)
	}
	return nil
}

// OutputTask implements OutputTasker: the draw of highest output loss is kept.
func (a *Noise) OutputTask() error { return nil }
