package attacks

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/datasets"
)

// benchAttack runs an attack on 128 MNIST test images against the zoo CNN
// and reports images per second and model queries per image.
func benchAttack(b *testing.B, spec string, eps float64) {
	m, err := zooModelB(b)
	if err != nil {
		b.Fatal(err)
	}
	const n = 128
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		b.Fatal(err)
	}
	a, err := Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	x, err := d.Samples(0, d.Len())
	if err != nil {
		b.Fatal(err)
	}
	batch := Batch{X: x, Labels: d.Labels, Index: all(n)}
	adv := make([]float32, len(x))
	queries := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := &Result{Queries: make([]int, n)}
		if err := a.Run(context.Background(), m, batch, eps, Seeds{Seed: uint64(i), ID: a.ID()}, adv, res); err != nil {
			b.Fatal(err)
		}
		for _, q := range res.Queries {
			queries += q
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
	b.ReportMetric(float64(queries)/float64(n*b.N), "queries/img")
}

func BenchmarkFGSM(b *testing.B)     { benchAttack(b, "fgsm", 0.1) }
func BenchmarkBIM10(b *testing.B)    { benchAttack(b, "bim:steps=10", 0.1) }
func BenchmarkPGD10(b *testing.B)    { benchAttack(b, "pgd:steps=10", 0.1) }
func BenchmarkMIFGSM(b *testing.B)   { benchAttack(b, "mifgsm", 0.1) }
func BenchmarkAPGDCE(b *testing.B)   { benchAttack(b, "apgd-ce", 0.1) }
func BenchmarkAPGDL1(b *testing.B)   { benchAttack(b, "apgd-ce:norm=l1,large_eps=true", 5) }
func BenchmarkSquare(b *testing.B)   { benchAttack(b, "square:queries=1000", 0.1) }
func BenchmarkSquareL2(b *testing.B) { benchAttack(b, "square:queries=1000,norm=l2", 1) }
func BenchmarkFAB(b *testing.B)      { benchAttack(b, "fab:iters=20", 0.1) }
func BenchmarkFABT(b *testing.B)     { benchAttack(b, "fab-t", 0.1) }
func BenchmarkNoise(b *testing.B)    { benchAttack(b, "noise-uniform", 0.1) }

// The minimal-norm attacks answer every eps with one run, timed here.
func BenchmarkDeepFool(b *testing.B) { benchAttack(b, "deepfool", 0.1) }
func BenchmarkFMN(b *testing.B)      { benchAttack(b, "fmn", 0.1) }
func BenchmarkCW(b *testing.B)       { benchAttack(b, "cw:steps=100", 0.1) }

// The L1 stages of autoattack:norm=l1 (L1 eps 5 on the undefended zoo CNN).
func BenchmarkAPGDTL1(b *testing.B) {
	benchAttack(b, "apgd-t:norm=l1,large_eps=true,targets=5", 5)
}
func BenchmarkFABTL1(b *testing.B)   { benchAttack(b, "fab-t:norm=l1", 5) }
func BenchmarkSquareL1(b *testing.B) { benchAttack(b, "square:queries=1000,norm=l1", 5) }
