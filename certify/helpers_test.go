package certify

import (
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
)

// loadModel loads a zoo model or an ONNX file.
func loadModel(t testing.TB, spec string) *models.Classifier {
	t.Helper()
	m, err := models.Load(spec, models.Contract{}, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mnistSample returns the first n embedded MNIST test images (float64) and labels.
func mnistSample(t testing.TB, n int) ([][]float64, []int) {
	t.Helper()
	d, err := datasets.Open("mnist-sample", datasets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	x32, err := d.Samples(0, n)
	if err != nil {
		t.Fatal(err)
	}
	size := d.Size()
	xs := make([][]float64, n)
	for i := range xs {
		xs[i] = make([]float64, size)
		for j := range xs[i] {
			xs[i][j] = float64(x32[i*size+j])
		}
	}
	return xs, d.Labels[:n]
}
