package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
	"github.com/advcheck/advcheck/models/onnx"
)

const testdata = "../../../testdata"

func loadGraph(t testing.TB, name string) *ir.Graph {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, "models", name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(b, onnx.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	g, err := ir.FromONNX(m, ir.DefaultLimits())
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	return g
}

func loadNPY(t testing.TB, dir, name string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(filepath.Join(testdata, "golden", dir, name+".npy"), npy.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPyTorchGoldens runs every testdata model exported by PyTorch and
// compares the logits and the cross-entropy input gradient on a fixed batch
// with PyTorch autograd (float64): relative error ≤ 1e-5 for the float32
// engine, ≤ 1e-9 for the float64 engine and the reference interpreter.
func TestPyTorchGoldens(t *testing.T) {
	cases := []struct {
		name string
		kind ir.OutputKind
	}{
		{"bn_unfolded", ir.OutputLogits},
		{"view_chain", ir.OutputLogits},
		{"pad_avgpool", ir.OutputLogits},
		{"depthwise", ir.OutputLogits},
		{"mlp", ir.OutputLogits},
		{"softmax_head", ir.OutputProbabilities},
		{"logsoftmax_head", ir.OutputLogProbabilities},
		{"nhwc", ir.OutputLogits},
		{"batch1", ir.OutputLogits},
		{"misc_ops", ir.OutputLogits},
		{"art_mnist", ir.OutputProbabilities},
		{"act13", ir.OutputLogits},
		{"act17", ir.OutputLogits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := loadGraph(t, c.name)
			if g.OutputKind != c.kind {
				t.Errorf("output kind %s, want %s", g.OutputKind, c.kind)
			}
			x := loadNPY(t, c.name, "x")
			yArr := loadNPY(t, c.name, "y")
			wantLogits := loadNPY(t, c.name, "logits").Float64s()
			wantGrad := loadNPY(t, c.name, "grad_ce").Float64s()
			labels64, err := yArr.Int64s()
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, len(labels64))
			for i, v := range labels64 {
				labels[i] = int(v)
			}
			n := x.Shape[0]
			ref, err := g.Eval(&ir.Tensor{Shape: x.Shape, Data: x.Float64s()})
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(ref.Data, wantLogits); e > 1e-7 {
				t.Errorf("reference interpreter logits: relative error %.3g", e)
			}
			check := func(prefix string, logits, grad []float64, tol float64) {
				if e := relErr(logits, wantLogits); e > tol {
					t.Errorf("%s logits: relative error %.3g > %g", prefix, e, tol)
				}
				if e := relErr(grad, wantGrad); e > tol {
					t.Errorf("%s input gradient: relative error %.3g > %g", prefix, e, tol)
				}
			}
			l64, g64 := runGolden[float64](t, g, n, x.Float64s(), labels)
			// ONNX stores float attributes (LeakyRelu alpha) in float32: ~1e-9 off.
			check("float64", l64, g64, 1e-7)
			l32, g32 := runGolden[float32](t, g, n, x.Float64s(), labels)
			check("float32", l32, g32, 1e-5)
		})
	}
}

func runGolden[T Float](t *testing.T, g *ir.Graph, n int, x []float64, labels []int) (logits, grad []float64) {
	t.Helper()
	p, err := Build[T](g, n, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i, v := range x {
		p.Input()[i] = T(v)
	}
	if err := p.Run(&Objective{Loss: kernels.CrossEntropy, Labels: labels}); err != nil {
		t.Fatal(err)
	}
	for _, v := range p.Logits() {
		logits = append(logits, float64(v))
	}
	for _, v := range p.Grad() {
		grad = append(grad, float64(v))
	}
	return logits, grad
}

// A batch size different from the golden's must give the same per-sample
// results: the graph is rebuilt for it, and samples are independent.
func TestBatchSizesAgree(t *testing.T) {
	g := loadGraph(t, "view_chain")
	x := loadNPY(t, "view_chain", "x")
	labels := []int{7, 2, 1, 0, 4, 1, 4, 9}
	full, fullGrad := runGolden[float32](t, g, 8, x.Float64s(), labels)
	per := len(x.Float64s()) / 8
	for _, n := range []int{1, 3} {
		l, gr := runGolden[float32](t, g, n, x.Float64s()[:n*per], labels[:n])
		if e := relErr(l, full[:n*10]); e > 1e-6 {
			t.Errorf("batch %d logits differ from batch 8: %.3g", n, e)
		}
		if e := relErr(gr, fullGrad[:n*per]); e > 1e-6 {
			t.Errorf("batch %d gradient differs from batch 8: %.3g", n, e)
		}
	}
}
