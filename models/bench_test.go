package models_test

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// The zoo CNN (conv32-conv64-maxpool-fc128-fc10) at batch 128. `make
// bench-peer` runs the same work in PyTorch on the same weights.
func benchZoo(b *testing.B, grad bool) {
	m, err := models.Load("zoo:mnist-cnn", models.Contract{}, models.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	const n = 128
	x := randomBatch(n, m.Spec().Size(), 9)
	logits := make([]float32, n*10)
	g := make([]float32, len(x))
	obj := models.Objective{Loss: models.CrossEntropy, Labels: make([]int, n)}
	ctx := context.Background()
	run := func() error {
		if grad {
			return m.LossGradient(ctx, x, n, obj, g, logits, nil)
		}
		return m.Logits(ctx, x, n, logits)
	}
	if err := run(); err != nil { // compile the program outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkLogits(b *testing.B)       { benchZoo(b, false) }
func BenchmarkLossGradient(b *testing.B) { benchZoo(b, true) }
