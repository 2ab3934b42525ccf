package attacks

import (
	"context"
	"math"
	"testing"

	"github.com/advcheck/advcheck/metrics"
	"github.com/advcheck/advcheck/models"
)

// outputBatch is randomBatch as an output task: no labels, the clean
// outputs as the reference.
func outputBatch(t *testing.T, m models.Model, n int, loss models.LossKind) Batch {
	t.Helper()
	b := randomBatch(m, n, 5)
	b.Labels = nil
	b.Reference = make([]float32, n*m.Spec().Classes)
	if err := m.Logits(context.Background(), b.X, n, b.Reference); err != nil {
		t.Fatal(err)
	}
	b.OutputLoss = loss
	return b
}

// Every attack that applies to an output task moves the outputs away from
// the clean ones (mean cosine below 1, and below that of uniform noise of
// the same radius for the gradient attacks), stays in the bounds and the
// eps-ball, returns the input at eps 0, and spends its whole budget (no
// sample is broken early). Attacks that need classes say why not.
func TestOutputTask(t *testing.T) {
	ctx := context.Background()
	m := openModel(t, "view_chain")
	spec := m.Spec()
	size, k := spec.Size(), spec.Classes
	const n, eps = 6, 0.1
	for _, loss := range []models.LossKind{models.OutputCosine, models.OutputMSE} {
		b := outputBatch(t, m, n, loss)
		meanCos := func(adv []float32) float64 {
			out := make([]float32, n*k)
			if err := m.Logits(ctx, adv, n, out); err != nil {
				t.Fatal(err)
			}
			s := 0.0
			for i := 0; i < n; i++ {
				s += metrics.Cosine(out[i*k:(i+1)*k], b.Reference[i*k:(i+1)*k])
			}
			return s / n
		}
		run := func(specStr string, e float64) ([]float32, *Result) {
			a, err := Parse(specStr)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.(OutputTasker).OutputTask(); err != nil {
				t.Fatalf("%s: %v", specStr, err)
			}
			adv := make([]float32, len(b.X))
			res := &Result{Queries: make([]int, n)}
			if err := a.Run(ctx, m, b, e, Seeds{Seed: 1, ID: a.ID()}, adv, res); err != nil {
				t.Fatalf("%s: %v", specStr, err)
			}
			for i := 0; i < n; i++ {
				d := make([]float32, size)
				for q := range d {
					v := adv[i*size+q]
					if v < 0 || v > 1 {
						t.Fatalf("%s: value %v outside [0, 1]", specStr, v)
					}
					d[q] = v - b.X[i*size+q]
				}
				if dist := a.Norm().Dist(d); dist > e+1e-6 {
					t.Errorf("%s: sample %d at distance %v > eps %v", specStr, i, dist, e)
				}
			}
			return adv, res
		}
		noise, _ := run("noise-uniform:draws=3", eps)
		noiseCos := meanCos(noise)
		for _, c := range []struct {
			spec    string
			queries int // per sample: the whole budget
		}{
			{"fgsm", 2}, {"bim:steps=5", 6}, {"pgd:steps=5", 6}, {"mifgsm:steps=5", 6},
			{"apgd-ce:iters=10", 11}, {"square:queries=30", 30},
		} {
			adv, res := run(c.spec, eps)
			got := meanCos(adv)
			if !(got < noiseCos) || math.IsNaN(got) {
				t.Errorf("%v %s: mean cosine %.6f, not below uniform noise's %.6f", loss, c.spec, got, noiseCos)
			}
			for i, q := range res.Queries {
				if q != c.queries {
					t.Errorf("%v %s: sample %d used %d queries, want the whole budget %d", loss, c.spec, i, q, c.queries)
				}
			}
			zero, _ := run(c.spec, 0)
			for q := range zero {
				if zero[q] != b.X[q] {
					t.Fatalf("%s at eps 0 moved the input", c.spec)
				}
			}
		}
	}
	for _, s := range []string{"fgsm:target=ll", "pgd:loss=dlr", "bim:target=random", "mifgsm:loss=margin", "apgd-dlr", "apgd-t", "square:loss=ce"} {
		a, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.(OutputTasker).OutputTask(); err == nil {
			t.Errorf("%s applies to an output task", s)
		}
	}
	a, _ := Parse("autoattack")
	if _, ok := a.(OutputTasker); ok {
		t.Error("autoattack claims to apply to an output task")
	}
	b := outputBatch(t, m, n, models.OutputCosine)
	if err := a.Run(ctx, m, b, eps, Seeds{ID: a.ID()}, make([]float32, len(b.X)), &Result{}); err == nil {
		t.Error("autoattack ran an output task")
	}
}
