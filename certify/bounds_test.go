package certify

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/models/ir"
)

// The nets of testdata/certify/gen_nets.py: every op certify bounds.
var testNets = []string{
	"../testdata/certify/net_convbn.onnx",
	"../testdata/certify/net_pools.onnx",
	"../testdata/certify/net_residual.onnx",
	"../testdata/certify/net_activations.onnx",
}

// samplePoints returns n points of the box [lo, hi]: a third uniform, a
// third at random corners (where the bounds of linear layers are reached),
// a third mixed (each coordinate at an end with probability 1/2).
func samplePoints(rng *rand.Rand, lo, hi []float64, n int) [][]float64 {
	pts := make([][]float64, n)
	for i := range pts {
		p := make([]float64, len(lo))
		for j := range p {
			u := rng.Float64()
			switch {
			case i%3 == 1 || i%3 == 2 && rng.IntN(2) == 0:
				u = float64(rng.IntN(2))
			}
			p[j] = lo[j] + u*(hi[j]-lo[j])
			p[j] = math.Min(math.Max(p[j], lo[j]), hi[j])
		}
		pts[i] = p
	}
	return pts
}

// evalAll runs the float64 reference on the points and returns each node
// output per point.
func evalAll(t *testing.T, g *ir.Graph, pts [][]float64) map[*ir.Value][][]float64 {
	t.Helper()
	size := g.Input.Shape.PerSample()
	x := ir.NewTensor(g.Input.Shape.Concrete(len(pts))...)
	for i, p := range pts {
		copy(x.Data[i*size:], p)
	}
	vals, err := g.EvalAll(x)
	if err != nil {
		t.Fatal(err)
	}
	out := map[*ir.Value][][]float64{}
	for v, tv := range vals {
		if v.Shape.BatchAxis() != 0 {
			t.Fatalf("value %q has the batch at axis %d", v.Name, v.Shape.BatchAxis())
		}
		k := v.Shape.PerSample()
		rows := make([][]float64, len(pts))
		for i := range rows {
			rows[i] = tv.Data[i*k : (i+1)*k]
		}
		out[v] = rows
	}
	return out
}

// checkInside fails when any value lies outside [lo, hi] by more than tol·(1+|bound|).
func checkInside(t *testing.T, what string, vals [][]float64, b box, tol float64) int {
	t.Helper()
	bad := 0
	for i, row := range vals {
		for j, x := range row {
			if x < b.lo[j]-tol*(1+math.Abs(b.lo[j])) || x > b.hi[j]+tol*(1+math.Abs(b.hi[j])) {
				if bad < 3 {
					t.Errorf("%s: point %d, element %d: %v outside [%v, %v]", what, i, j, x, b.lo[j], b.hi[j])
				}
				bad++
			}
		}
	}
	return bad
}

// TestBoundsContainPoints is the soundness test: for every net, method,
// centre and eps, thousands of points of the box evaluated by the float64
// reference stay inside the bounds of every node output, and their logits
// computed by the float32 engine inside the output bounds (up to float32
// rounding, 1e-4 relative).
func TestBoundsContainPoints(t *testing.T) {
	ctx := context.Background()
	points := 2000
	if testing.Short() {
		points = 600
	}
	for _, path := range append(testNets, "zoo:mnist-mlp") {
		m := loadModel(t, path)
		g := m.Graph()
		v := NewVerifier(g)
		size := g.Input.Shape.PerSample()
		rng := rand.New(rand.NewPCG(15, uint64(len(path))))
		for trial, eps := range []float64{0.01, 0.1, 0.4} {
			for _, method := range []Method{IBP, CROWN} {
				name := fmt.Sprintf("%s/eps=%v/%v", path, eps, method)
				x := make([]float64, size)
				for j := range x {
					x[j] = rng.Float64()
				}
				xl, xu, err := v.inputBox(x, eps, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				s := v.newState(xl, xu)
				if stop, err := s.forward(ctx, method); err != nil || stop != "" {
					t.Fatalf("%s: stopped by %q, %v", name, stop, err)
				}
				pts := samplePoints(rng, xl, xu, points)
				vals := evalAll(t, g, pts)
				for _, n := range g.Nodes {
					checkInside(t, name+"/"+n.Name, vals[n.Output], s.boxes[n.Output], 0)
				}
				// The output bounds of the backward passes (tighter than the boxes).
				lo, hi, stop, err := v.OutputBounds(ctx, xl, xu, method)
				if err != nil || stop != "" {
					t.Fatalf("%s: %q %v", name, stop, err)
				}
				ob := box{lo, hi}
				checkInside(t, name+"/logits", vals[g.Output], ob, 0)
				checkInside(t, name+"/logits float32", logits32(t, m, pts, xl, xu), ob, 1e-4)
				// The margin of the centre's class.
				y := argmax(vals[g.Output][0])
				c, err := v.Certify(ctx, x, eps, 0, 1, method, y)
				if err != nil {
					t.Fatal(err)
				}
				for i, z := range vals[g.Output] {
					for j := range z {
						if j != y && z[y]-z[j] < c.Margin {
							t.Fatalf("%s: point %d: z_y − z_%d = %v below the certified margin %v", name, i, j, z[y]-z[j], c.Margin)
						}
					}
				}
				if trial == 0 && testing.Verbose() {
					t.Logf("%s: margin %.4g", name, c.Margin)
				}
			}
		}
	}
}

// logits32 evaluates the points with the float32 engine. Coordinates are
// rounded to float32 inside the box.
func logits32(t *testing.T, m *models.Classifier, pts [][]float64, xl, xu []float64) [][]float64 {
	t.Helper()
	size, k := len(xl), m.Spec().Classes
	x := make([]float32, len(pts)*size)
	for i, p := range pts {
		for j, v := range p {
			f := float32(v)
			if float64(f) > xu[j] {
				f = math.Nextafter32(f, float32(math.Inf(-1)))
			}
			if float64(f) < xl[j] {
				f = math.Nextafter32(f, float32(math.Inf(1)))
			}
			x[i*size+j] = f
		}
	}
	out := make([]float32, len(pts)*k)
	const batch = 100
	for i := 0; i < len(pts); i += batch {
		n := min(batch, len(pts)-i)
		if err := m.Logits(context.Background(), x[i*size:(i+n)*size], n, out[i*k:(i+n)*k]); err != nil {
			t.Fatal(err)
		}
	}
	rows := make([][]float64, len(pts))
	for i := range rows {
		rows[i] = make([]float64, k)
		for j := range rows[i] {
			rows[i][j] = float64(out[i*k+j])
		}
	}
	return rows
}

func argmax(z []float64) int {
	b := 0
	for j := range z {
		if z[j] > z[b] {
			b = j
		}
	}
	return b
}

// TestCrownNotLooser: CROWN's bounds lie inside IBP's (they are intersected)
// and, on the zoo MLP, CROWN's margin is larger than IBP's at small eps
// (CROWN certifies at eps 0.01, where IBP does not).
func TestCrownNotLooser(t *testing.T) {
	ctx := context.Background()
	for _, path := range append(testNets, "zoo:mnist-mlp") {
		m := loadModel(t, path)
		v := NewVerifier(m.Graph())
		size := m.Graph().Input.Shape.PerSample()
		rng := rand.New(rand.NewPCG(7, 7))
		x := make([]float64, size)
		for j := range x {
			x[j] = rng.Float64()
		}
		xl, xu, _ := v.inputBox(x, 0.05, 0, 1)
		il, ih, _, err := v.OutputBounds(ctx, xl, xu, IBP)
		if err != nil {
			t.Fatal(err)
		}
		cl, ch, _, err := v.OutputBounds(ctx, xl, xu, CROWN)
		if err != nil {
			t.Fatal(err)
		}
		for j := range il {
			if cl[j] < il[j] || ch[j] > ih[j] {
				t.Errorf("%s: logit %d: CROWN [%v, %v] not inside IBP [%v, %v]", path, j, cl[j], ch[j], il[j], ih[j])
			}
		}
	}
	m := loadModel(t, "zoo:mnist-mlp")
	v := NewVerifier(m.Graph())
	xs, ys := mnistSample(t, 5)
	for i := range xs {
		ci, err := v.Certify(ctx, xs[i], 0.01, 0, 1, IBP, ys[i])
		if err != nil {
			t.Fatal(err)
		}
		cc, err := v.Certify(ctx, xs[i], 0.01, 0, 1, CROWN, ys[i])
		if err != nil {
			t.Fatal(err)
		}
		if !(cc.Margin > ci.Margin) || !cc.Certified || ci.Certified {
			t.Errorf("image %d: IBP %+v, CROWN %+v: want CROWN certified, IBP not", i, ci, cc)
		}
	}
}

// TestStoppedBy: an op without a sound bound (x·x) is named, not certified.
func TestStoppedBy(t *testing.T) {
	m := loadModel(t, "../testdata/certify/net_stop.onnx")
	x := make([]float64, m.Graph().Input.Shape.PerSample())
	for _, method := range []Method{IBP, CROWN} {
		c, err := Bounds(context.Background(), m.Graph(), x, 0.1, 0, 1, method, 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.Certified || !math.IsInf(c.Margin, -1) || !strings.HasPrefix(c.StoppedBy, "Mul node") || !strings.Contains(c.StoppedBy, "two activations") {
			t.Errorf("%v: %+v, want stopped by the Mul of two activations", method, c)
		}
	}
}

// TestBadInput: each mistake is one ErrInput with a clear message.
func TestBadInput(t *testing.T) {
	m := loadModel(t, "zoo:mnist-mlp")
	v := NewVerifier(m.Graph())
	x := make([]float64, 784)
	out := make([]float64, 784)
	out[3] = 1.5
	nan := make([]float64, 784)
	nan[0] = math.NaN()
	for _, tc := range []struct {
		x          []float64
		eps        float64
		lo, hi     float64
		label      int
		wantSubstr string
	}{
		{x[:10], 0.1, 0, 1, 0, "x has 10 values, the model takes 784"},
		{x, 0.1, 0, 1, 10, "label 10, the model has 10 classes"},
		{x, 0.1, 0, 1, -1, "label -1"},
		{x, -0.1, 0, 1, 0, "eps -0.1"},
		{x, math.NaN(), 0, 1, 0, "eps NaN"},
		{x, math.Inf(1), 0, 1, 0, "eps +Inf"},
		{x, 0.1, 1, 0, 0, "bounds [1, 0]"},
		{out, 0.1, 0, 1, 0, "x[3] = 1.5 is outside the bounds [0, 1]"},
		{nan, 0.1, 0, 1, 0, "x[0] = NaN is outside"},
	} {
		_, err := v.Certify(context.Background(), tc.x, tc.eps, tc.lo, tc.hi, CROWN, tc.label)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), tc.wantSubstr) {
			t.Errorf("got %v, want ErrInput with %q", err, tc.wantSubstr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Certify(ctx, x, 0.1, 0, 1, CROWN, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	if _, err := ParseMethod("alpha-crown"); !errors.Is(err, ErrInput) {
		t.Errorf("ParseMethod: %v", err)
	}
}
