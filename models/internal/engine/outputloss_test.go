package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// outputLoss is Σ_i loss(f(x)_i, ref_i) from the reference interpreter, each
// loss written from its definition: 1 − z·r/(|z||r|), or mean (z − r)².
func outputLoss(t *testing.T, kind kernels.LossKind, g *ir.Graph, x *ir.Tensor, ref []float32) float64 {
	out, err := g.Eval(x)
	if err != nil {
		t.Fatal(err)
	}
	k := g.Classes
	s := 0.0
	for i := 0; i < len(out.Data)/k; i++ {
		z, r := out.Data[i*k:(i+1)*k], ref[i*k:(i+1)*k]
		switch kind {
		case kernels.OutputCosine:
			var zr, zz, rr float64
			for j := range z {
				zr += z[j] * float64(r[j])
				zz += z[j] * z[j]
				rr += float64(r[j]) * float64(r[j])
			}
			s += 1 - zr/math.Sqrt(zz*rr)
		case kernels.OutputMSE:
			for j := range z {
				d := z[j] - float64(r[j])
				s += d * d / float64(k)
			}
		}
	}
	return s
}

func runOutput[T Float](t *testing.T, kind kernels.LossKind, g *ir.Graph, x *ir.Tensor, ref []float32, n int) (loss, grad []float64) {
	t.Helper()
	p, err := Build[T](g, n, true)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	defer p.Close()
	for i, v := range x.Data {
		p.Input()[i] = T(v)
	}
	if err := p.Run(&Objective{Loss: kind, Labels: make([]int, n), Reference: ref}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, v := range p.Grad() {
		grad = append(grad, float64(v))
	}
	return append([]float64(nil), p.Loss()...), grad
}

// The output losses (the embedding task's objective) through whole graphs:
// the float64 input gradient against central finite differences of the
// reference interpreter, the losses against their definitions, and float32
// against float64. The reference is the clean output moved by noise, as an
// attack sees it after its first step.
func TestOutputLossGradients(t *testing.T) {
	for _, c := range cases {
		for _, kind := range []kernels.LossKind{kernels.OutputCosine, kernels.OutputMSE} {
			t.Run(fmt.Sprintf("%s/%d", c.name, kind), func(t *testing.T) {
				const batch = 3
				g, x, _ := buildCase(t, c, batch)
				if g.Classes < 2 {
					t.Skip("one output")
				}
				clean, err := g.Eval(x)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(3, uint64(len(c.name))))
				ref := make([]float32, len(clean.Data))
				for i, v := range clean.Data {
					ref[i] = float32(v + 0.3*rng.NormFloat64()*(math.Abs(v)+0.1))
				}
				loss64, grad64 := runOutput[float64](t, kind, g, x, ref, batch)
				sum := 0.0
				for _, v := range loss64 {
					sum += v
				}
				if want := outputLoss(t, kind, g, x, ref); math.Abs(sum-want) > 1e-10*(1+math.Abs(want)) {
					t.Errorf("loss %v, definition %v", sum, want)
				}
				fd := make([]float64, len(x.Data))
				const h = 1e-6
				for i := range x.Data {
					v := x.Data[i]
					x.Data[i] = v + h
					up := outputLoss(t, kind, g, x, ref)
					x.Data[i] = v - h
					down := outputLoss(t, kind, g, x, ref)
					x.Data[i] = v
					fd[i] = (up - down) / (2 * h)
				}
				if e := relErr(grad64, fd); e > 1e-6 {
					t.Errorf("float64 input gradient: relative error %.3g vs finite differences", e)
				}
				_, grad32 := runOutput[float32](t, kind, g, x, ref, batch)
				if e := relErr(grad32, grad64); e > 1e-4 {
					t.Errorf("float32 input gradient: relative error %.3g vs float64", e)
				}
			})
		}
	}
}
