package attacks

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
)

// TestProjectL1BoxGolden: the projection onto the L1 ball inside the box
// equals the APGD-L1 reference code's (testdata/gen_apgd_l1_golden.py) on
// problems where the ball is active and where only the box is, at 37 and at
// 784 coordinates.
func TestProjectL1BoxGolden(t *testing.T) {
	for _, suffix := range []string{"", "_784"} {
		xa, ya, ea, da := golden(t, "apgd_l1", "x"+suffix), golden(t, "apgd_l1", "y"+suffix), golden(t, "apgd_l1", "eps"+suffix), golden(t, "apgd_l1", "delta"+suffix)
		n, d := xa.Shape[0], xa.Shape[1]
		xv, yv, ev, dv := xa.Float32s(), ya.Float32s(), ea.Float32s(), da.Float32s()
		ballActive := 0
		for i := 0; i < n; i++ {
			x, y := xv[i*d:(i+1)*d], yv[i*d:(i+1)*d]
			got := make([]float32, d)
			l1 := 0.0
			for j := range got {
				got[j] = x[j] + y[j]
				l1 += math.Abs(float64(y[j]))
			}
			if l1 > float64(ev[i]) {
				ballActive++
			}
			projectL1Box(got, x, float64(ev[i]), 0, 1, nil)
			for j := range got {
				want := float64(x[j]) + float64(y[j]) + float64(dv[i*d+j])
				if math.Abs(float64(got[j])-want) > 2e-6 {
					t.Fatalf("d=%d problem %d coordinate %d: %v, reference %v", d, i, j, got[j], want)
				}
			}
		}
		if ballActive == 0 || ballActive == n {
			t.Fatalf("d=%d: the ball is active in %d of %d problems: the golden misses a case", d, ballActive, n)
		}
	}
}

// TestProjectL1BoxOptimal: the projected point is in the box and the ball,
// a point already there stays, and no feasible point nearby is closer (the
// projection is the closest point of a convex set, so small feasible moves
// from it never get nearer to the target).
func TestProjectL1BoxOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	const d = 50
	for trial := 0; trial < 200; trial++ {
		x, target := make([]float32, d), make([]float32, d)
		for j := range x {
			x[j] = float32(rng.Float64())
			if rng.IntN(3) == 0 {
				x[j] = float32(rng.IntN(2))
			}
			target[j] = x[j] + float32(rng.NormFloat64()*0.3)
		}
		eps := rng.Float64() * 5
		lo, hi := -0.5, 1.0
		p := append([]float32(nil), target...)
		projectL1Box(p, x, eps, lo, hi, nil)
		l1, dist := 0.0, 0.0
		for j := range p {
			if p[j] < float32(lo) || p[j] > float32(hi) {
				t.Fatalf("trial %d: coordinate %d at %v outside the box", trial, j, p[j])
			}
			l1 += math.Abs(float64(p[j] - x[j]))
			dist += sq(float64(p[j] - target[j]))
		}
		if l1 > eps*(1+1e-6)+1e-6 {
			t.Fatalf("trial %d: L1 norm %v > eps %v", trial, l1, eps)
		}
		again := append([]float32(nil), p...)
		projectL1Box(again, x, eps, lo, hi, nil)
		for j := range again {
			if math.Abs(float64(again[j]-p[j])) > 1e-6 {
				t.Fatalf("trial %d: projecting the projection moves coordinate %d", trial, j)
			}
		}
		for probe := 0; probe < 20; probe++ {
			q := append([]float32(nil), p...)
			for j := range q {
				q[j] += float32(rng.NormFloat64() * 0.01)
			}
			projectL1Box(q, x, eps, lo, hi, nil) // a feasible point near p
			dq := 0.0
			for j := range q {
				dq += sq(float64(q[j] - target[j]))
			}
			if dq < dist-1e-9 {
				t.Fatalf("trial %d: a feasible point is closer to the target (%v < %v)", trial, dq, dist)
			}
		}
	}
}

func sq(v float64) float64 { return v * v }

// TestAPGDL1Schedule: the phases of large_eps and the checkpoint interval
// and sparsity rule follow the reference (autopgd_base.py).
func TestAPGDL1Schedule(t *testing.T) {
	a, err := Parse("apgd-ce:norm=l1,large_eps=true")
	if err != nil {
		t.Fatal(err)
	}
	got := a.(*APGD).phases(2)
	want := []apgdPhase{{6, 30}, {4, 30}, {2, 40}}
	if len(got) != len(want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("phases %v, want %v", got, want)
		}
	}
	if p, _ := Parse("apgd-ce:norm=l1"); len(p.(*APGD).phases(2)) != 1 {
		t.Error("without large_eps: more than one phase")
	}
	for iters, every := range map[int]int{100: 4, 30: 1, 40: 1, 10: 1, 1000: 40} {
		if s := newL1Schedule(1, 4, apgdPhase{1, iters}, false, nil, nil); s.every != every {
			t.Errorf("%d iterations: checkpoint every %d, want %d", iters, s.every, every)
		}
	}
	// 10 coordinates, 4 nonzero at the start: topk 4/10/1.5.
	x0 := make([]float32, 10)
	x := []float32{0.1, 0, 0.2, 0, 0, 0.3, 0, 0, 0.4, 0}
	s := newL1Schedule(1, 10, apgdPhase{3, 100}, true, x, x0)
	if s.topk[0] != float32(4)/10/1.5 || s.spOld[0] != 4 || s.eta[0] != 3 {
		t.Fatalf("start: topk %v, spOld %v, eta %v", s.topk[0], s.spOld[0], s.eta[0])
	}
	eta := []float64{3}
	// Still 4 nonzero: not sparser, η /= 1.5, stay.
	if s.check(0, x, x0, eta) || eta[0] != 2 {
		t.Fatalf("same sparsity: back or η %v", eta[0])
	}
	// 3 of 4 (< 95 %): back to the best point, η = eps.
	best := []float32{0.1, 0, 0.2, 0, 0, 0.3, 0, 0, 0, 0}
	if !s.check(0, best, x0, eta) || eta[0] != 3 || s.spOld[0] != 3 {
		t.Fatalf("sparser: not back or η %v", eta[0])
	}
	// η never falls below eps/10.
	for range 10 {
		s.check(0, best, x0, eta)
	}
	if eta[0] != 0.3 {
		t.Fatalf("η %v after many checkpoints, want eps/10", eta[0])
	}
	// The step moves the coordinates with the largest |g| (topk 0.2 of 10:
	// the threshold is the 8th smallest), η/count each, along sign(g).
	s = newL1Schedule(1, 10, apgdPhase{1, 100}, false, nil, nil)
	g := []float32{0.1, -0.9, 0, 0.5, 0.2, 0.3, -0.7, 0.05, 0.4, 0.6}
	y := make([]float32, 10)
	s.step(y, g, 0, 1)
	wantY := []float32{0, -0.5, 0, 0, 0, 0, -0.5, 0, 0, 0} // |g| ≥ 0.7: two coordinates
	for i := range y {
		if math.Abs(float64(y[i]-wantY[i])) > 1e-6 {
			t.Fatalf("step %v, want %v", y, wantY)
		}
	}
}

// TestAPGDL1Reference compares APGD-CE in L1 with the authors' code on the
// same model and images. It needs the reference's numbers, written by
// testdata/zoo/apgd_l1_reference.py --json FILE, and MNIST in data/mnist:
//
//	ADVCHECK_APGD_L1_REFERENCE=FILE go test -tags 'openblas libjpeg' -run TestAPGDL1Reference -v ./attacks/
//
// For each of the reference's runs (restarts) it runs
// apgd-ce:norm=l1,large_eps=true with as many restarts and fails when
// advcheck's robust accuracy exceeds the reference's by more than one point
// or three samples, whichever is more: the random starts differ (on 100
// images at eps 5 advcheck's seeds 0 and 1 are 3 points apart).
func TestAPGDL1Reference(t *testing.T) {
	path := os.Getenv("ADVCHECK_APGD_L1_REFERENCE")
	if path == "" {
		t.Skip("ADVCHECK_APGD_L1_REFERENCE is not set")
	}
	var ref struct {
		Model string  `json:"model"`
		N     int     `json:"n"`
		Eps   float64 `json:"eps"`
		Runs  []struct {
			Restarts int     `json:"restarts"`
			Robust   float64 `json:"robust_percent"`
		} `json:"runs"`
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	m := zooModel(t, strings.TrimSuffix(filepath.Base(ref.Model), ".onnx"))
	d, err := datasets.Open("mnist:"+testdata+"/../data/mnist", datasets.Options{Limit: ref.N})
	if err != nil {
		t.Fatal(err)
	}
	dX := samplesOf(t, d)
	size, ctx := m.Spec().Size(), context.Background()
	logits := make([]float32, ref.N*10)
	if err := m.Logits(ctx, dX, ref.N, logits); err != nil {
		t.Fatal(err)
	}
	var correct []int
	for i := 0; i < ref.N; i++ {
		if argmax(logits[i*10:(i+1)*10]) == d.Labels[i] {
			correct = append(correct, i)
		}
	}
	b := Batch{X: make([]float32, len(correct)*size), Labels: pick(d.Labels, correct), Index: correct}
	gather(b.X, dX, correct, size)
	for _, run := range ref.Runs {
		a, err := Parse(fmt.Sprintf("apgd-ce:norm=l1,large_eps=true,restarts=%d", run.Restarts))
		if err != nil {
			t.Fatal(err)
		}
		adv := make([]float32, len(b.X))
		res := &Result{Queries: make([]int, b.Len())}
		if err := a.Run(ctx, m, b, ref.Eps, Seeds{ID: a.ID()}, adv, res); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, b.Len()*10)
		if err := m.Logits(ctx, adv, b.Len(), out); err != nil {
			t.Fatal(err)
		}
		robust := 0
		for j := 0; j < b.Len(); j++ {
			if argmax(out[j*10:(j+1)*10]) == b.Labels[j] {
				robust++
			}
			if dist := L1.Dist(sub(adv[j*size:(j+1)*size], b.X[j*size:(j+1)*size])); dist > ref.Eps*(1+1e-5) {
				t.Errorf("sample %d at L1 distance %v > eps %v", correct[j], dist, ref.Eps)
			}
		}
		got := 100 * float64(robust) / float64(ref.N)
		t.Logf("APGD-CE L1 eps %g, %d restarts, %d images: advcheck %.1f%%, reference %.1f%%", ref.Eps, run.Restarts, ref.N, got, run.Robust)
		if tol := math.Max(1, 300/float64(ref.N)); got > run.Robust+tol {
			t.Errorf("%d restarts: robust accuracy %.1f%%, reference %.1f%%: more than %.1f points higher", run.Restarts, got, run.Robust, tol)
		}
	}
}
