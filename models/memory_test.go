package models_test

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// ProgramMemory predicts, without compiling, exactly what the program cache
// holds after calls that touch every bucket up to a batch: one forward and
// one gradient program per power of two, capped by the batch.
func TestProgramMemoryMatchesCache(t *testing.T) {
	ctx := context.Background()
	for _, batch := range []int{8, 6} {
		m := open(t, "misc_ops", models.Contract{})
		m.SetMaxBatch(batch)
		size, k := m.Spec().Size(), m.Spec().Classes
		for n := 1; n <= batch; n++ {
			x := randomBatch(n, size, uint64(n))
			if err := m.Logits(ctx, x, n, make([]float32, n*k)); err != nil {
				t.Fatal(err)
			}
			obj := models.Objective{Labels: make([]int, n)}
			if err := m.LossGradient(ctx, x, n, obj, make([]float32, len(x)), nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		held, want := m.HeldMemory(), m.ProgramMemory(batch)
		if held != want {
			t.Errorf("batch %d: cache holds %+v, ProgramMemory says %+v", batch, held, want)
		}
		if small := m.ProgramMemory(batch / 2); small.Total() >= want.Total() {
			t.Errorf("half the batch needs %d bytes, not less than %d", small.Total(), want.Total())
		}
	}
}
