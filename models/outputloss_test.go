package models_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// The output losses through a classifier: the losses LossGradient returns
// are 1 − cos and the mean squared distance of the outputs Logits computes,
// at every batch size (padded rows included), and objectives that mix the
// two kinds of loss are refused.
func TestOutputLosses(t *testing.T) {
	ctx := context.Background()
	m := open(t, "dyn_hw", models.Contract{InputShape: []int{3, 20, 28}})
	x := golden(t, "dynamic", "x_20x28").Float32s()
	size, k := m.Spec().Size(), m.Spec().Classes
	n := len(x) / size
	ref := make([]float32, n*k)
	if err := m.Logits(ctx, x, n, ref); err != nil {
		t.Fatal(err)
	}
	moved := append([]float32(nil), x...)
	for i := range moved {
		moved[i] = float32(math.Min(1, float64(moved[i])+0.05*float64(i%3)))
	}
	out := make([]float32, n*k)
	if err := m.Logits(ctx, moved, n, out); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []models.LossKind{models.OutputCosine, models.OutputMSE} {
		for _, b := range []int{1, 3, n} {
			loss := make([]float64, b)
			grad := make([]float32, b*size)
			obj := models.Objective{Loss: kind, Reference: ref[:b*k]}
			if err := m.LossGradient(ctx, moved[:b*size], b, obj, grad, nil, loss); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < b; i++ {
				z, r := out[i*k:(i+1)*k], ref[i*k:(i+1)*k]
				want := 1 - metrics.Cosine(z, r)
				if kind == models.OutputMSE {
					want = 0
					for j := range z {
						d := float64(z[j]) - float64(r[j])
						want += d * d / float64(k)
					}
				}
				if math.Abs(loss[i]-want) > 1e-5*(1+math.Abs(want)) {
					t.Errorf("%v batch %d row %d: loss %v, want %v", kind, b, i, loss[i], want)
				}
			}
		}
	}
	for _, obj := range []models.Objective{
		{Loss: models.OutputCosine, Reference: ref[:k]},
		{Loss: models.OutputCosine, Reference: ref, Targets: make([]int, n)},
		{Loss: models.CrossEntropy, Labels: make([]int, n), Reference: ref},
	} {
		err := m.LossGradient(ctx, x, n, obj, make([]float32, len(x)), nil, nil)
		if !errors.Is(err, models.ErrObjective) {
			t.Errorf("%v with %d reference values: %v", obj.Loss, len(obj.Reference), err)
		}
	}
}
