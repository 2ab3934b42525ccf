// Package attacks implements the evasion attacks advcheck runs against a
// models.Model: FGSM and the fast gradient method, BIM, PGD, MI-FGSM,
// APGD-CE/-DLR/-T, FAB and FAB-T, the Square attack (L∞ and L2), uniform and
// Gaussian noise baselines, the AutoAttack protocol, and the minimal-norm
// attacks Carlini-Wagner L2, DeepFool and FMN (see Minimizer).
//
// Every attack works in pixel space: it returns, for each sample, a point
// within eps of the clean input in its Norm and within the model's bounds.
// Randomness is derived per sample from (seed, attack id, eps, global sample
// index, restart), so a sample's result does not depend on its batch-mates,
// the batch size, the thread count or sharding.
//
// An attack is built from a spec string such as "pgd:steps=100,restarts=5"
// (see Parse); Params reports every parameter with its resolved value.
//
//	a, err := attacks.Parse("pgd:steps=40")
//	adv := make([]float32, len(batch.X))
//	err = a.Run(ctx, model, batch, 0.3, attacks.Seeds{Seed: 1, ID: a.ID()}, adv, nil)
package attacks
