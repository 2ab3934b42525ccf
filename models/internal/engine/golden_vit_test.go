package engine

import (
	"testing"

	"github.com/advcheck/advcheck/models/ir"
)

// TestTransformerGoldens is TestPyTorchGoldens for the transformer-era
// exports of testdata/gen_models_vit.py: a ConvNeXt (layer norms fused from
// their opset-13 pattern, or LayerNormalization at opset 17) and a DeiT-style
// vision transformer (class token expanded to the batch, multi-head
// attention with batched MatMuls and Softmax, Gather of q, k, v and of the
// class token), torchvision's ViT and Swin, and attention written with
// torch.einsum followed by a Tile of activations (einsum13). Both engines must match PyTorch's float64 autograd to
// 1e-7 (float64) and 1e-5 (float32), logits and input gradients.
func TestTransformerGoldens(t *testing.T) {
	for _, c := range []struct {
		name  string
		norms int // LayerNorm nodes, all fused at opset 13
	}{{"convnext13", 7}, {"convnext17", 7}, {"deit13", 5}, {"deit17", 5}, {"vit13", 5}, {"vit17", 5}, {"swin13", 11}, {"swin17", 11}, {"einsum13", 0}} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			g := loadGraph(t, name)
			ops := map[string]int{}
			for _, n := range g.Nodes {
				ops[n.Op.Kind()]++
			}
			if ops["LayerNormalization"] != c.norms || (c.norms > 0 && ops["ReduceMean"]+ops["Sqrt"] != 0) {
				t.Errorf("want %d LayerNormalization nodes and no unfused pattern, got %v", c.norms, ops)
			}
			x := loadNPY(t, name, "x")
			labels64, err := loadNPY(t, name, "y").Int64s()
			if err != nil {
				t.Fatal(err)
			}
			labels := make([]int, len(labels64))
			for i, v := range labels64 {
				labels[i] = int(v)
			}
			wantLogits := loadNPY(t, name, "logits").Float64s()
			wantGrad := loadNPY(t, name, "grad_ce").Float64s()
			ref, err := g.Eval(&ir.Tensor{Shape: x.Shape, Data: x.Float64s()})
			if err != nil {
				t.Fatal(err)
			}
			if e := relErr(ref.Data, wantLogits); e > 1e-7 {
				t.Errorf("reference interpreter logits: relative error %.3g", e)
			}
			for _, c := range []struct {
				name string
				run  func(*testing.T, *ir.Graph, int, []float64, []int) ([]float64, []float64)
				tol  float64
			}{{"float64", runGolden[float64], 1e-7}, {"float32", runGolden[float32], 1e-5}} {
				logits, grad := c.run(t, g, x.Shape[0], x.Float64s(), labels)
				if e := relErr(logits, wantLogits); e > c.tol {
					t.Errorf("%s logits: relative error %.3g > %g", c.name, e, c.tol)
				}
				if e := relErr(grad, wantGrad); e > c.tol {
					t.Errorf("%s input gradient: relative error %.3g > %g", c.name, e, c.tol)
				}
				t.Logf("%s: logits %.2g, gradient %.2g", c.name, relErr(logits, wantLogits), relErr(grad, wantGrad))
			}
		})
	}
}

// Estimate equals a compiled program's buffers for the transformer-era
// models too (LayerNorm's scale, bias and per-row statistics).
func TestEstimateMatchesProgramTransformers(t *testing.T) {
	for _, name := range []string{"convnext17", "deit13", "vit17", "swin13"} {
		g := loadGraph(t, name)
		for _, n := range []int{1, 3} {
			for _, grad := range []bool{false, true} {
				p, err := Build[float32](g, n, grad)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := p.Run(&Objective{Labels: make([]int, n)}); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got, want := p.Memory(), Estimate[float32](g, n, grad, 0); got != want {
					t.Errorf("%s n=%d grad=%v: program holds %+v, estimate %+v", name, n, grad, got, want)
				}
				p.Close()
			}
		}
	}
}

// The exports that merge the batch with other axes (heads, tokens, Swin's
// windows) give every sample the same results at batch sizes 1 and 3 as at 8.
func TestMergedBatchSizesAgree(t *testing.T) {
	for _, name := range []string{"vit13", "swin17"} {
		g := loadGraph(t, name)
		x := loadNPY(t, name, "x").Float64s()
		labels := []int{1, 2, 3, 4, 5, 6, 7, 8}
		full, fullGrad := runGolden[float64](t, g, 8, x, labels)
		per := len(x) / 8
		for _, n := range []int{1, 3} {
			off := 8 - n // the last samples: a sample's place in the batch must not matter
			l, gr := runGolden[float64](t, g, n, x[off*per:], labels[off:])
			if e := relErr(l, full[off*g.Classes:]); e > 1e-12 {
				t.Errorf("%s batch %d logits differ from batch 8: %.3g", name, n, e)
			}
			if e := relErr(gr, fullGrad[off*per:]); e > 1e-12 {
				t.Errorf("%s batch %d gradient differs from batch 8: %.3g", name, n, e)
			}
		}
	}
}

// Einsum and Tile of activations are lowered at import to Transpose,
// Reshape, MatMul, Dense and broadcast Add: the engines' input gradients of
// the lowered einsum13 model match central finite differences of the
// reference interpreter at batch sizes 1 and 3 (float64, on every 5th input
// element), and float32 matches float64.
func TestEinsumTileFiniteDifferences(t *testing.T) {
	g := loadGraph(t, "einsum13")
	kinds := map[string]int{}
	for _, n := range g.Nodes {
		kinds[n.Source]++
	}
	if kinds["Einsum"] == 0 || kinds["Tile"] == 0 {
		t.Fatalf("einsum13 imported without Einsum or Tile nodes: %v", kinds)
	}
	x := loadNPY(t, "einsum13", "x").Float64s()
	per := g.Input.Shape.PerSample()
	for _, n := range []int{1, 3} {
		xt := &ir.Tensor{Shape: g.Input.Shape.Concrete(n), Data: append([]float64(nil), x[:n*per]...)}
		labels := []int{3, 7, 1}[:n]
		_, grad64 := run[float64](t, g, xt, labels, true)
		const h = 1e-6
		var got, fd []float64
		for i := 0; i < len(xt.Data); i += 5 {
			v := xt.Data[i]
			xt.Data[i] = v + h
			up := ceLoss(t, g, xt, labels)
			xt.Data[i] = v - h
			down := ceLoss(t, g, xt, labels)
			xt.Data[i] = v
			got = append(got, grad64[i])
			fd = append(fd, (up-down)/(2*h))
		}
		if e := relErr(got, fd); e > 1e-6 {
			t.Errorf("batch %d: float64 input gradient: relative error %.3g vs finite differences", n, e)
		}
		_, grad32 := run[float32](t, g, xt, labels, true)
		if e := relErr(grad32, grad64); e > 1e-4 {
			t.Errorf("batch %d: float32 input gradient: relative error %.3g vs float64", n, e)
		}
	}
}

// ConvNeXt's pointwise Linear layers over [N×H×W×C] (64 pixels a sample at
// the first stage of convnext13) are multiplied per sample
// (kernels.DenseRows): the path TestTransformerGoldens checks against
// PyTorch and TestExactAcrossBatches checks for bit-identical samples.
func TestPerSampleDenseUsed(t *testing.T) {
	p, err := Build[float32](loadGraph(t, "convnext13"), 3, true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	perSample, blocks := 0, 0
	for _, l := range p.layers {
		if d, ok := l.(*denseLayer[float32]); ok {
			if d.perSample != nil {
				perSample++
			} else {
				blocks++
			}
		}
	}
	if perSample != 4 || blocks != 5 {
		t.Errorf("%d dense layers per sample and %d in blocks, want 4 and 5", perSample, blocks)
	}
}
