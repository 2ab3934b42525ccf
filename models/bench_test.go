package models_test

import (
	"context"
	"os"
	"strconv"
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

var peerModel *models.Classifier

// BenchmarkPeerModel runs forward + input gradient (cross-entropy) of the
// model file in $ADVCHECK_BENCH_MODEL at batch $ADVCHECK_BENCH_BATCH
// (default 16) on random inputs in [0, 1]. `make bench-peer` runs it on the
// torchvision models of scripts/peer_models.py beside PyTorch; it is skipped
// when the variable is unset.
func BenchmarkPeerModel(b *testing.B) {
	path := os.Getenv("ADVCHECK_BENCH_MODEL")
	if path == "" {
		b.Skip("ADVCHECK_BENCH_MODEL is not set")
	}
	n := 16
	if s := os.Getenv("ADVCHECK_BENCH_BATCH"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("ADVCHECK_BENCH_BATCH=%q: want a positive integer", s)
		}
	}
	// The testing package calls a benchmark more than once (b.N = 1 first):
	// load the model once, as a run does.
	if peerModel == nil {
		m, err := models.Open(path, models.Contract{}, models.DefaultLimits())
		if err != nil {
			b.Fatal(err)
		}
		m.SetMaxBatch(n)
		peerModel = m
	}
	m := peerModel
	k := m.Spec().Classes
	x := randomBatch(n, m.Spec().Size(), 9)
	logits := make([]float32, n*k)
	g := make([]float32, len(x))
	obj := models.Objective{Loss: models.CrossEntropy, Labels: make([]int, n)}
	for i := range obj.Labels {
		obj.Labels[i] = i % k
	}
	ctx := context.Background()
	if err := m.LossGradient(ctx, x, n, obj, g, logits, nil); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.LossGradient(ctx, x, n, obj, g, logits, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}
