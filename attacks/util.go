package attacks

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/advcheck/advcheck/models"
)

// argmax returns the index of the largest logit (the first on ties).
func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] || (v != v && row[best] == row[best]) {
			best = j
		}
	}
	return best
}

// broken reports whether logits show success: misclassification for an
// untargeted attack (target < 0), the target class for a targeted one.
func broken(row []float32, label, target int) bool {
	p := argmax(row)
	if target >= 0 {
		return p == target
	}
	return p != label
}

// gather copies rows idx of src (rows of width w) into dst.
func gather(dst, src []float32, idx []int, w int) {
	for k, i := range idx {
		copy(dst[k*w:(k+1)*w], src[i*w:(i+1)*w])
	}
}

// scatter copies row k of src into row idx[k] of dst.
func scatter(dst, src []float32, idx []int, w int) {
	for k, i := range idx {
		copy(dst[i*w:(i+1)*w], src[k*w:(k+1)*w])
	}
}

func pick(v []int, idx []int) []int {
	if v == nil {
		return nil
	}
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

func all(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// checkBatch validates a batch against the model.
func checkBatch(m models.Model, b Batch, adv []float32, eps float64) error {
	spec := m.Spec()
	n := b.Len()
	if len(b.X) != n*spec.Size() || len(adv) != len(b.X) {
		return fmt.Errorf("attacks: batch of %d samples has %d values (adv %d), want %d each", n, len(b.X), len(adv), spec.Size())
	}
	if len(b.Index) != n {
		return fmt.Errorf("attacks: %d indices for %d samples", len(b.Index), n)
	}
	if eps < 0 || math.IsNaN(eps) || math.IsInf(eps, 0) {
		return fmt.Errorf("attacks: eps %v", eps)
	}
	if b.isOutput() {
		if !b.OutputLoss.IsOutputLoss() {
			return fmt.Errorf("attacks: an output task with the %s loss", b.OutputLoss)
		}
		return models.CheckObjective(models.Objective{Loss: b.OutputLoss, Reference: b.Reference}, n, spec.Classes)
	}
	return models.CheckObjective(models.Objective{Labels: b.Labels}, n, spec.Classes)
}

// lossOf computes the attack loss of one row of logits in float64 (the same
// definitions the models package differentiates).
func sqrt(v float64) float64 { return math.Sqrt(v) }

func lossOf(kind models.LossKind, row []float32, y, t int) float64 {
	z := make([]float64, len(row))
	for j, v := range row {
		z[j] = float64(v)
	}
	maxExcept := func(skip int) float64 {
		m := math.Inf(-1)
		for j, v := range z {
			if j != skip {
				m = math.Max(m, v)
			}
		}
		return m
	}
	switch kind {
	case models.Margin:
		if t >= 0 {
			return z[t] - maxExcept(t)
		}
		return maxExcept(y) - z[y]
	case models.DLR:
		s := append([]float64(nil), z...)
		for i := range s {
			for j := i; j > 0 && s[j] > s[j-1]; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		if t >= 0 {
			return -(z[y] - z[t]) / (s[0] - 0.5*(s[2]+s[3]) + 1e-12)
		}
		return -(z[y] - maxExcept(y)) / (s[0] - s[2] + 1e-12)
	}
	m := math.Inf(-1)
	for _, v := range z {
		m = math.Max(m, v)
	}
	lse := 0.0
	for _, v := range z {
		lse += math.Exp(v - m)
	}
	lse = m + math.Log(lse)
	if t >= 0 {
		return z[t] - lse
	}
	return lse - z[y]
}

// targetRule says how a targeted attack picks each sample's target class:
// "" (untargeted), "random" (uniform over the other classes), "ll" (the
// least likely class under the clean logits), "next" ((label+1) mod classes)
// or a class number.
func validTarget(rule string) error {
	switch rule {
	case "", "random", "ll", "next":
		return nil
	}
	if c, err := strconv.Atoi(rule); err == nil {
		if c < 0 {
			return fmt.Errorf("target=%d: a class number is 0 or more", c)
		}
		return nil
	}
	return fmt.Errorf("target=%q: want random, ll, next or a class number", rule)
}

// chooseTargets returns the target of each sample under rule (nil when
// untargeted). "ll" spends one forward pass.
func chooseTargets(ctx context.Context, m models.Model, b Batch, rule string, seeds Seeds, eps float64, res *Result) ([]int, error) {
	if rule == "" {
		return nil, nil
	}
	if b.isOutput() {
		return nil, fmt.Errorf("attacks: target=%s needs classes; an output task has none", rule)
	}
	k := m.Spec().Classes
	n := b.Len()
	t := make([]int, n)
	switch rule {
	case "random":
		for i := range t {
			r := seeds.Stream(eps, b.Index[i], -1).IntN(k - 1)
			if r >= b.Labels[i] {
				r++
			}
			t[i] = r
		}
	case "next":
		for i := range t {
			t[i] = (b.Labels[i] + 1) % k
		}
	case "ll":
		logits := make([]float32, n*k)
		if err := m.Logits(ctx, b.X, n, logits); err != nil {
			return nil, err
		}
		res.addQueries(all(n), 1)
		for i := range t {
			row := logits[i*k : (i+1)*k]
			lo := 0
			for j, v := range row {
				if v < row[lo] {
					lo = j
				}
			}
			t[i] = lo
		}
	default:
		c, _ := strconv.Atoi(rule)
		if c < 0 || c >= k {
			return nil, fmt.Errorf("attacks: target class %d outside [0, %d)", c, k)
		}
		for i := range t {
			t[i] = c
		}
	}
	if res != nil {
		res.Targets = t
	}
	return t, nil
}

func targetAt(t []int, i int) int {
	if t == nil {
		return -1
	}
	return t[i]
}

// pending returns the indices of the samples not done yet.
func pending(done []bool) []int {
	var rows []int
	for i, d := range done {
		if !d {
			rows = append(rows, i)
		}
	}
	return rows
}
