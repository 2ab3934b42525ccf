package certify

import (
	"context"
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
)

// BenchmarkSmoothingCertify certifies one MNIST test image per iteration
// on the zoo CNN with Cohen et al.'s n0 = 100 and advcheck's default n =
// 10,000 (σ = 0.25, alpha = 0.001), forwards in batches of 128: the
// figure scripts/bench-smoothing.sh sets against PyTorch doing the same.
func BenchmarkSmoothingCertify(b *testing.B) {
	m, err := models.Load("zoo:mnist-cnn", models.Contract{}, models.DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: 16})
	if err != nil {
		b.Fatal(err)
	}
	x, err := d.Samples(0, 16)
	if err != nil {
		b.Fatal(err)
	}
	size := m.Spec().Size()
	s := &Smoothing{Sigma: 0.25, N0: 100, N: 10000, Alpha: 0.001, Batch: 128, ID: "smoothing"}
	dst := make([]SmoothedCertificate, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % 16
		if _, err := s.Certify(context.Background(), m, x[j*size:(j+1)*size], []int{j}, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/sample")
}
