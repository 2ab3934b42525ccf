package engine

import (
	"testing"

	"github.com/advcheck/advcheck/internal/parallel"
)

// Estimate, computed from the IR alone, equals the bytes of the buffers a
// compiled program holds after a run, kind by kind, for every testdata model
// (convolutions, pools, dense layers, residual-style reuse in misc_ops),
// with and without the gradient, at several batch sizes and worker counts.
func TestEstimateMatchesProgram(t *testing.T) {
	defer parallel.SetWorkers(0)
	for _, name := range []string{"art_mnist", "view_chain", "pad_avgpool", "depthwise", "mlp", "softmax_head", "nhwc", "misc_ops", "bn_unfolded"} {
		g := loadGraph(t, name)
		for _, workers := range []int{1, 3} {
			parallel.SetWorkers(workers)
			for _, n := range []int{1, 4} {
				for _, grad := range []bool{false, true} {
					p, err := Build[float32](g, n, grad)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					obj := &Objective{Labels: make([]int, n)}
					if err := p.Run(obj); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					got, want := p.Memory(), Estimate[float32](g, n, grad, 0)
					if got != want {
						t.Errorf("%s n=%d grad=%v workers=%d: program holds %+v, estimate %+v", name, n, grad, workers, got, want)
					}
					p.Close()
				}
			}
		}
	}
}

// The estimate grows linearly with the batch apart from fixed costs: the
// basis of sizing a batch from a memory budget.
func TestEstimateLinearInBatch(t *testing.T) {
	g := loadGraph(t, "art_mnist")
	e1, e2, e4 := Estimate[float32](g, 1, true, 2), Estimate[float32](g, 2, true, 2), Estimate[float32](g, 4, true, 2)
	if d1, d2 := e2.Total()-e1.Total(), e4.Total()-e2.Total(); d1 <= 0 || d2 != 2*d1 {
		t.Errorf("per-sample growth %d then %d, want d and 2d", d1, d2)
	}
	if e1.Weights != e4.Weights || e1.Scratch != e4.Scratch {
		t.Errorf("weights or scratch depend on the batch: %+v vs %+v", e1, e4)
	}
}
