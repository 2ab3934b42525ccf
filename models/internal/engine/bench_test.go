package engine

import (
	"math/rand/v2"
	"testing"

	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// mnistCNN builds conv32-conv64-maxpool-fc128-fc10 (the zoo CNN's
// architecture) with random weights, so engine benchmarks need no files.
func mnistCNN(tb testing.TB) *ir.Graph {
	rng := rand.New(rand.NewPCG(3, 4))
	b := ir.NewBuilder("x", ir.Shape{ir.Batch, 1, 28, 28})
	must := func(v *ir.Value, err error) *ir.Value {
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
	relu := ir.Unary{Func: ir.Relu}
	c1 := must(b.Add("c1", ir.Conv{Kernel: [2]int{3, 3}, Strides: one2, Dilations: one2, Group: 1}, nil, b.Input(), b.Const("w1", randTensor(rng, 0.3, 32, 1, 3, 3)), b.Const("b1", randTensor(rng, 0.1, 32))))
	r1 := must(b.Add("r1", relu, nil, c1))
	c2 := must(b.Add("c2", ir.Conv{Kernel: [2]int{3, 3}, Strides: one2, Dilations: one2, Group: 1}, nil, r1, b.Const("w2", randTensor(rng, 0.06, 64, 32, 3, 3)), b.Const("b2", randTensor(rng, 0.1, 64))))
	r2 := must(b.Add("r2", relu, nil, c2))
	p := must(b.Add("p", ir.Pool{Max: true, Kernel: [2]int{2, 2}, Strides: [2]int{2, 2}, Dilations: one2}, nil, r2))
	f := must(b.Add("f", ir.Reshape{}, ir.Shape{ir.Batch, 9216}, p))
	d1 := must(b.Add("d1", ir.Dense{}, nil, f, b.Const("w3", randTensor(rng, 0.01, 9216, 128)), b.Const("b3", randTensor(rng, 0.1, 128))))
	r3 := must(b.Add("r3", relu, nil, d1))
	d2 := must(b.Add("d2", ir.Dense{}, nil, r3, b.Const("w4", randTensor(rng, 0.1, 128, 10)), b.Const("b4", randTensor(rng, 0.1, 10))))
	g, err := b.Finish(d2)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func benchProgram(b *testing.B, grad bool) {
	const n = 128
	p, err := Build[float32](mnistCNN(b), n, grad)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range p.Input() {
		p.Input()[i] = rng.Float32()
	}
	obj := &Objective{Loss: kernels.CrossEntropy, Labels: make([]int, n)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Run(obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkCNNForward(b *testing.B)  { benchProgram(b, false) }
func BenchmarkCNNGradient(b *testing.B) { benchProgram(b, true) }
