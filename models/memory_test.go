package models_test

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/models/ir"
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

// A loaded model holds the float32 weights of its file once, in float32:
// the IR's constants take fewer bytes than the file (import held them in
// float64, twice the file, before), and the engine reads them in place
// (engine.TestFloat32WeightsReadInPlace).
func TestWeightsHeldInFloat32(t *testing.T) {
	for _, name := range []string{"mlp", "art_mnist", "view_chain", "vit13", "deit17"} {
		m := open(t, name, models.Contract{})
		seen := map[*ir.Tensor]bool{}
		var held, f32 int64
		for _, n := range m.Graph().Nodes {
			for _, v := range n.Inputs {
				if v == nil || !v.IsConst() || seen[v.Const] {
					continue
				}
				seen[v.Const] = true
				held += int64(4*len(v.Const.F32) + 8*len(v.Const.Data))
				f32 += int64(4 * len(v.Const.F32))
			}
		}
		if file := m.Info().Bytes; held > file || f32 < file/2 {
			t.Errorf("%s: the IR holds %d bytes of constants (%d in float32) for a %d-byte file", name, held, f32, file)
		}
	}
}

// Loading checks the lowering but compiles no program: a model that is only
// inspected allocates no activations and converts no weight.
func TestLoadCompilesNothing(t *testing.T) {
	m := open(t, "bn_unfolded", models.Contract{})
	if held := m.HeldMemory(); held.Total() != 0 {
		t.Errorf("a loaded model holds programs of %+v", held)
	}
	n, size, k := 2, m.Spec().Size(), m.Spec().Classes
	if err := m.Logits(context.Background(), randomBatch(n, size, 1), n, make([]float32, n*k)); err != nil {
		t.Fatal(err)
	}
	if held := m.HeldMemory(); held.Total() == 0 {
		t.Error("no program held after a call")
	}
}
