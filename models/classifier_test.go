package models_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/models"
)

const testdata = "../testdata"

func open(t testing.TB, name string, c models.Contract) *models.Classifier {
	t.Helper()
	m, err := models.Open(filepath.Join(testdata, "models", name+".onnx"), c, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func golden(t testing.TB, dir, name string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(testdata, "golden", dir, name+".npy"), npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func labelsOf(t testing.TB, a *npy.Array) []int {
	v, err := a.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func relErr(got []float32, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range want {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}

// nhwcToNCHW transposes n×h×w×c to n×c×h×w.
func nhwcToNCHW(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for z := 0; z < w; z++ {
				for k := 0; k < c; k++ {
					out[((i*c+k)*h+y)*w+z] = x[((i*h+y)*w+z)*c+k]
				}
			}
		}
	}
	return out
}

// The Model API on real PyTorch exports: an NHWC model behind the NCHW
// pixel-space contract, and a Softmax-headed model whose head is set aside.
func TestClassifierGoldens(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		contract models.Contract
		kind     string
	}{
		{"nhwc", models.Contract{Layout: models.NHWC}, "logits"},
		{"softmax_head", models.Contract{}, "probabilities"},
		{"depthwise", models.Contract{}, "logits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := open(t, c.name, c.contract)
			if m.Info().OutputKind != c.kind {
				t.Errorf("output kind %q, want %q", m.Info().OutputKind, c.kind)
			}
			xa := golden(t, c.name, "x")
			x, want := xa.Float32s(), golden(t, c.name, "grad_ce").Float64s()
			n := xa.Shape[0]
			if c.contract.Layout == models.NHWC {
				x = nhwcToNCHW(x, n, xa.Shape[1], xa.Shape[2], xa.Shape[3])
			}
			labels := labelsOf(t, golden(t, c.name, "y"))
			grad := make([]float32, len(x))
			logits := make([]float32, n*10)
			loss := make([]float64, n)
			if err := m.LossGradient(ctx, x, n, models.Objective{Loss: models.CrossEntropy, Labels: labels}, grad, logits, loss); err != nil {
				t.Fatal(err)
			}
			// The gradient is in pixel space (NCHW); for the 1-channel NHWC model
			// that is the same memory order as the golden's NHWC.
			if e := relErr(logits, golden(t, c.name, "logits").Float64s()); e > 1e-5 {
				t.Errorf("logits: relative error %.3g", e)
			}
			if e := relErr(grad, want); e > 1e-5 {
				t.Errorf("gradient: relative error %.3g", e)
			}
			fwd := make([]float32, n*10)
			if err := m.Logits(ctx, x, n, fwd); err != nil {
				t.Fatal(err)
			}
			for i := range fwd {
				if fwd[i] != logits[i] {
					t.Fatalf("Logits and LossGradient disagree at %d: %v vs %v", i, fwd[i], logits[i])
				}
			}
		})
	}
}

func randomBatch(n, size int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	x := make([]float32, n*size)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

// Results do not depend on how a batch is chunked, on which bucket program
// runs it, or on concurrent callers.
func TestBatchIndependence(t *testing.T) {
	ctx := context.Background()
	m := open(t, "view_chain", models.Contract{})
	m.SetMaxBatch(16)
	size := m.Spec().Size()
	const n = 37
	x := randomBatch(n, size, 1)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 10
	}
	obj := models.Objective{Loss: models.Margin, Labels: labels}
	grad, logits := make([]float32, len(x)), make([]float32, n*10)
	if err := m.LossGradient(ctx, x, n, obj, grad, logits, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g1, l1 := make([]float32, size), make([]float32, 10)
			o := models.Objective{Loss: models.Margin, Labels: labels[i : i+1]}
			if err := m.LossGradient(ctx, x[i*size:(i+1)*size], 1, o, g1, l1, nil); err != nil {
				errs <- err
				return
			}
			for j := range l1 {
				if math.Abs(float64(l1[j]-logits[i*10+j])) > 1e-5 {
					errs <- errors.New("logits differ between batch and single-sample runs")
					return
				}
			}
			for j := range g1 {
				if math.Abs(float64(g1[j]-grad[i*size+j])) > 1e-5 {
					errs <- errors.New("gradients differ between batch and single-sample runs")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The logit difference z_t − z_y has the input gradient of the targeted
// cross-entropy towards t plus the untargeted one away from y (their
// log-sum-exp terms cancel): two independent routes to the same vector.
func TestLogitDiffGradient(t *testing.T) {
	ctx := context.Background()
	m := open(t, "mlp", models.Contract{})
	size := m.Spec().Size()
	const n = 5
	x := randomBatch(n, size, 3)
	labels, targets := []int{0, 3, 9, 2, 5}, []int{1, 7, 0, 2, 6}
	gd, g1, g2 := make([]float32, n*size), make([]float32, n*size), make([]float32, n*size)
	logits, loss := make([]float32, n*10), make([]float64, n)
	if err := m.LossGradient(ctx, x, n, models.Objective{Loss: models.LogitDiff, Labels: labels, Targets: targets}, gd, logits, loss); err != nil {
		t.Fatal(err)
	}
	if err := m.LossGradient(ctx, x, n, models.Objective{Loss: models.CrossEntropy, Labels: labels, Targets: targets}, g1, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.LossGradient(ctx, x, n, models.Objective{Loss: models.CrossEntropy, Labels: labels}, g2, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if want := float64(logits[i*10+targets[i]] - logits[i*10+labels[i]]); math.Abs(loss[i]-want) > 1e-5 {
			t.Errorf("sample %d: loss %v, want z_t − z_y = %v", i, loss[i], want)
		}
		for q := i * size; q < (i+1)*size; q++ {
			if want := g1[q] + g2[q]; math.Abs(float64(gd[q]-want)) > 1e-4*(1+math.Abs(float64(want))) {
				t.Fatalf("sample %d value %d: gradient %v, CE routes give %v", i, q-i*size, gd[q], want)
			}
		}
	}
}

func TestObjectiveErrors(t *testing.T) {
	ctx := context.Background()
	m := open(t, "mlp", models.Contract{})
	x := randomBatch(2, m.Spec().Size(), 2)
	g := make([]float32, len(x))
	for _, obj := range []models.Objective{
		{Loss: models.CrossEntropy, Labels: []int{0, 10}},
		{Loss: models.CrossEntropy, Labels: []int{0}},
		{Loss: models.CrossEntropy, Labels: []int{0, 1}, Targets: []int{-1, 2}},
	} {
		err := m.LossGradient(ctx, x, 2, obj, g, nil, nil)
		if !errors.Is(err, models.ErrObjective) {
			t.Errorf("%+v: error %v", obj, err)
		}
	}
	if err := models.CheckObjective(models.Objective{Loss: models.LogitDiff, Labels: []int{0}}, 1, 10); err == nil {
		t.Error("logit difference accepted without targets")
	}
	if err := models.CheckObjective(models.Objective{Loss: models.DLR, Labels: []int{0}}, 1, 2); err == nil {
		t.Error("DLR accepted for 2 classes")
	}
	if err := models.CheckObjective(models.Objective{Loss: models.DLR, Labels: []int{0}, Targets: []int{1}}, 1, 3); err == nil {
		t.Error("targeted DLR accepted for 3 classes")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.LossGradient(cctx, x, 2, models.Objective{Labels: []int{0, 1}}, g, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestContractErrors(t *testing.T) {
	path := filepath.Join(testdata, "models", "depthwise.onnx")
	for _, c := range []models.Contract{
		{Layout: "nchw2"},
		{Lo: 1, Hi: 0},
		{Mean: []float64{0.5}},
		{Mean: []float64{0.5, 0.5}, Std: []float64{1, 1}}, // 3 channels
		{Mean: []float64{0}, Std: []float64{0}},
		{ClassNames: []string{"a", "b"}},
	} {
		if _, err := models.Open(path, c, models.DefaultLimits()); !errors.Is(err, models.ErrBadModel) {
			t.Errorf("%+v: error %v", c, err)
		}
	}
}
