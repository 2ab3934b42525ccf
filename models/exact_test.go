package models_test

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// TestExactAcrossBatches: a sample's logits and gradient are the same bits
// whatever batch it is computed in and however many threads run: reports
// promise identical bytes for any batch size, thread count or sharding.
func TestExactAcrossBatches(t *testing.T) {
	for _, spec := range []string{"zoo:mnist-cnn", "zoo:mnist-mlp", testdata + "/models/view_chain.onnx", testdata + "/models/misc_ops.onnx", testdata + "/models/convnext13.onnx"} {
		t.Run(spec, func(t *testing.T) { exactAcrossBatches(t, spec) })
	}
}

func exactAcrossBatches(t *testing.T, spec string) {
	ctx := context.Background()
	m, err := models.Load(spec, models.Contract{}, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	size := m.Spec().Size()
	const n = 100
	x := randomBatch(n, size, 5)
	labels := make([]int, n)
	g0, l0 := make([]float32, len(x)), make([]float32, n*10)
	if err := m.LossGradient(ctx, x, n, models.Objective{Labels: labels}, g0, l0, nil); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []int{1, 3, 17, 64} {
		for lo := 0; lo+sub <= n; lo += 37 {
			g, l := make([]float32, sub*size), make([]float32, sub*10)
			if err := m.LossGradient(ctx, x[lo*size:(lo+sub)*size], sub, models.Objective{Labels: labels[:sub]}, g, l, nil); err != nil {
				t.Fatal(err)
			}
			for i := range l {
				if l[i] != l0[lo*10+i] {
					t.Fatalf("batch %d at %d: logit %d differs: %v vs %v", sub, lo, i, l[i], l0[lo*10+i])
				}
			}
			for i := range g {
				if g[i] != g0[lo*size+i] {
					t.Fatalf("batch %d at %d: gradient %d differs: %v vs %v", sub, lo, i, g[i], g0[lo*size+i])
				}
			}
		}
	}
	models.SetThreads(1)
	defer models.SetThreads(0)
	g1, l1 := make([]float32, len(x)), make([]float32, n*10)
	if err := m.LossGradient(ctx, x, n, models.Objective{Labels: labels}, g1, l1, nil); err != nil {
		t.Fatal(err)
	}
	for i := range g1 {
		if g1[i] != g0[i] {
			t.Fatalf("one thread: gradient %d differs: %v vs %v", i, g1[i], g0[i])
		}
	}
	for i := range l1 {
		if l1[i] != l0[i] {
			t.Fatalf("one thread: logit %d differs", i)
		}
	}
}
