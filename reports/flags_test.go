package reports

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/models/ir"
)

// build makes a classifier of MNIST-shaped inputs from an IR builder function.
func build(t *testing.T, f func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error)) *models.Classifier {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	b := ir.NewBuilder("x", ir.Shape{ir.Batch, 1, 28, 28})
	out, err := f(b, rng)
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.Finish(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.FromGraph(g, models.Contract{}, models.Info{SHA256: sha64})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func must(v *ir.Value, err error) *ir.Value {
	if err != nil {
		panic(err)
	}
	return v
}

// linearHead is flatten → dense 784×10 with weights that separate digits a
// little (the mean image of each class from the embedded sample).
func linearHead(b *ir.Builder, x *ir.Value) *ir.Value {
	d, _ := datasets.Open("mnist-sample", datasets.Options{})
	w := ir.NewTensor(784, 10)
	count := make([]float64, 10)
	px, err := d.Samples(0, d.Len())
	if err != nil {
		panic(err)
	}
	for i, l := range d.Labels {
		count[l]++
		for p, v := range px[i*784 : (i+1)*784] {
			w.Data[p*10+l] += float64(v)
		}
	}
	for p := 0; p < 784; p++ {
		mean := 0.0
		for c := 0; c < 10; c++ {
			w.Data[p*10+c] /= count[c]
			mean += w.Data[p*10+c] / 10
		}
		for c := 0; c < 10; c++ {
			w.Data[p*10+c] = 20 * (w.Data[p*10+c] - mean)
		}
	}
	f := must(b.Add("flat", ir.Reshape{}, ir.Shape{ir.Batch, 784}, x))
	return must(b.Add("dense", ir.Dense{}, nil, f, b.Const("w", w)))
}

func flagsOf(t *testing.T, m models.Model, n int, specs ...string) []Flag {
	t.Helper()
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	p := plan(t, m, d, specs...)
	p.Eps, _ = ParseEps("linf=0,0.1,0.2,0.3")
	p.Batch = 64
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.Flags
}

func hasFlag(fs []Flag, id, sev string) bool {
	for _, f := range fs {
		if f.ID == id && (sev == "" || f.Severity == sev) {
			return true
		}
	}
	return false
}

func ids(fs []Flag) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"("+f.Severity+"): "+f.Message)
	}
	return strings.Join(out, "\n")
}

// A step non-linearity (pixels thresholded at 0.5) masks every gradient:
// zero gradients, an unbounded attack that fails, and a gradient-free attack
// that succeeds where the gradient attacks fail.
func TestFlagsOnGradientMasking(t *testing.T) {
	m := build(t, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		s := must(b.Add("scale", ir.Binary{Op: ir.Mul}, nil, b.Input(), b.Const("k", &ir.Tensor{Shape: []int{}, Data: []float64{1e4}})))
		s = must(b.Add("shift", ir.Binary{Op: ir.Sub}, nil, s, b.Const("h", &ir.Tensor{Shape: []int{}, Data: []float64{5e3}})))
		s = must(b.Add("step", ir.Unary{Func: ir.Clip, Min: 0, Max: 1}, nil, s))
		return linearHead(b, s), nil
	})
	fs := flagsOf(t, m, 96, "fgsm", "pgd:steps=5", "square:queries=200")
	for _, id := range []string{FlagZeroGradients, FlagUnboundedFails, FlagBlackBoxBeats} {
		if !hasFlag(fs, id, "warning") {
			t.Errorf("no %s warning; flags:\n%s", id, ids(fs))
		}
	}
}

// A model that computes a softmax with Exp, ReduceSum and Div outputs
// probabilities advcheck cannot set aside.
func TestFlagsOnProbabilityOutputs(t *testing.T) {
	m := build(t, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) {
		z := linearHead(b, b.Input())
		z = must(b.Add("tame", ir.Binary{Op: ir.Mul}, nil, z, b.Const("c", &ir.Tensor{Shape: []int{}, Data: []float64{0.05}})))
		e := must(b.Add("exp", ir.Unary{Func: ir.Exp}, nil, z))
		s := must(b.Add("sum", ir.Reduce{Axes: []int{1}, KeepDims: true}, nil, e))
		return b.Add("div", ir.Binary{Op: ir.Div}, nil, e, s)
	})
	fs := flagsOf(t, m, 32, "fgsm")
	if !hasFlag(fs, FlagProbabilityOutputs, "warning") {
		t.Errorf("no probability_outputs warning; flags:\n%s", ids(fs))
	}
}

// noisy adds fresh noise to the logits of every forward pass.
type noisy struct {
	models.Model
	rng *rand.Rand
}

func (n *noisy) Logits(ctx context.Context, x []float32, k int, dst []float32) error {
	if err := n.Model.Logits(ctx, x, k, dst); err != nil {
		return err
	}
	for i := range dst {
		dst[i] += float32(n.rng.NormFloat64())
	}
	return nil
}

func TestFlagsOnRandomizedModel(t *testing.T) {
	base := build(t, func(b *ir.Builder, rng *rand.Rand) (*ir.Value, error) { return linearHead(b, b.Input()), nil })
	fs := flagsOf(t, &noisy{Model: base, rng: rand.New(rand.NewPCG(1, 1))}, 16, "fgsm")
	if !hasFlag(fs, FlagRandomizedModel, "error") {
		t.Errorf("no randomized_model error; flags:\n%s", ids(fs))
	}
}

// The undefended zoo models raise no reliability flag: no false alarms.
func TestNoSpuriousFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("attacks the zoo models")
	}
	for _, name := range []string{"mnist-cnn", "mnist-mlp"} {
		m, err := models.Load("zoo:"+name, models.Contract{}, models.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		fs := flagsOf(t, m, 64, "fgsm", "pgd", "square:queries=200")
		for _, f := range fs {
			if f.Severity != "info" {
				t.Errorf("%s: spurious flag %s (%s): %s", name, f.ID, f.Severity, f.Message)
			}
		}
	}
}

// The curve and convergence flags, from per-sample outcomes built to show
// each pattern.
func TestCurveFlags(t *testing.T) {
	n := 60
	s := &Samples{Index: make([]int, n), Label: make([]int, n), CleanPred: make([]int, n)}
	mk := func(id, name string, eps float64, broken func(i int) bool) Outcomes {
		o := Outcomes{AttackID: id, Norm: "linf", Eps: eps, Pred: make([]int, n), CosLogits: make([]F32, n), CosProbs: make([]F32, n),
			KL: make([]F32, n), Linf: make([]F32, n), L2: make([]F32, n), Queries: make([]int, n)}
		for i := range o.Pred {
			if broken(i) {
				o.Pred[i] = 1
			}
		}
		return o
	}
	for i := range s.Index {
		s.Index[i] = i
	}
	s.Outcomes = []Outcomes{
		mk("fgsm", "fgsm", 0.1, func(i int) bool { return i < 30 }),
		mk("fgsm", "fgsm", 0.2, func(i int) bool { return i < 10 }), // fewer broken at the larger eps
		mk("pgd", "pgd", 0.1, func(i int) bool { return i < 5 }),    // weaker than FGSM
		mk("pgd", "pgd", 0.2, func(i int) bool { return i < 40 }),
		mk("square", "square", 0.2, func(i int) bool { return i < 55 }), // breaks what gradients missed
	}
	s.Checks = &Checks{Deterministic: filled(n, 1), ProbLike: filled(n, 0), GradStatus: filled(n, 0), Unbounded: filled(n, -1),
		Converge: []ConvergeProbe{{AttackID: "pgd", Doubled: "pgd:steps=20", Norm: "linf", Eps: 0.2, Broken: make([]int, n)}}}
	for i := range s.Checks.Converge[0].Broken {
		if i < 55 {
			s.Checks.Converge[0].Broken[i] = 1 // doubling the steps breaks 15 more
		}
	}
	r := &Report{Schema: Schema, Samples: s, Model: Model{OutputKind: "logits"}}
	r.Config.Attacks = []AttackConfig{{AttackID: "fgsm", Name: "fgsm", Norm: "linf"}, {AttackID: "pgd", Name: "pgd", Norm: "linf"}, {AttackID: "square", Name: "square", Norm: "linf"}}
	r.Config.Eps = []EpsConfig{{Norm: "linf", Value: 0.1}, {Norm: "linf", Value: 0.2}}
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{FlagNonMonotone, FlagIterativeWeaker, FlagBlackBoxBeats, FlagNotConverged} {
		if !hasFlag(r.Flags, id, "warning") {
			t.Errorf("no %s warning; flags:\n%s", id, ids(r.Flags))
		}
	}
}

// A data set decoded by Go's image/jpeg raises a warning; one decoded by
// the libjpeg build, or holding no JPEG, raises none. The flag is derived
// from dataset.decoder, so a re-reduced or merged report keeps exactly one.
func TestJPEGDecoderFlag(t *testing.T) {
	for _, c := range []struct {
		decoder string
		want    bool
	}{
		{datasets.GoJPEGDecoder, true},
		{"libjpeg-turbo 2.1.5 (islow, fancy upsampling)", false},
		{"", false},
		{datasets.JPEGDecoder, !datasets.JPEGPILExact},
	} {
		r := &Report{Schema: Schema, Samples: &Samples{}, Model: Model{OutputKind: "logits"}, Dataset: Dataset{Decoder: c.decoder}}
		for i := 0; i < 2; i++ {
			if err := r.Reduce(); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for _, f := range r.Flags {
			if f.ID == FlagJPEGNotPILExact {
				n++
				if f.Severity != "warning" || !strings.Contains(f.Message, c.decoder) {
					t.Errorf("%q: flag %+v", c.decoder, f)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[c.want]; n != want {
			t.Errorf("decoder %q: %d %s flags, want %d; flags:\n%s", c.decoder, n, FlagJPEGNotPILExact, want, ids(r.Flags))
		}
	}
}
