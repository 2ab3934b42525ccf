package attacks

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/advcheck/advcheck/datasets"
)

// TestAutoAttackReference compares advcheck's AutoAttack with the authors'
// implementation on the same model and images. It needs the reference's
// numbers, written by testdata/zoo/autoattack_reference.py --json FILE, and
// the MNIST test set in data/mnist:
//
//	ADVCHECK_AA_REFERENCE=FILE go test -tags 'openblas libjpeg' -run TestAutoAttackReference -v -timeout 3h ./attacks/
//
// The file's norm (Linf when absent, L2 or L1) picks the threat model. It
// logs the robust accuracy after each stage on both sides and fails when
// advcheck's robust accuracy after the last stage the reference ran (all
// four, or the prefix its --stages chose) exceeds the reference's by more
// than 0.5 points, or when FAB-T's median minimal L∞ norm differs from the
// reference's by more than 5 %.
func TestAutoAttackReference(t *testing.T) {
	path := os.Getenv("ADVCHECK_AA_REFERENCE")
	if path == "" {
		t.Skip("ADVCHECK_AA_REFERENCE is not set")
	}
	var ref struct {
		Model    string             `json:"model"`
		N        int                `json:"n"`
		Eps      float64            `json:"eps"`
		Norm     string             `json:"norm"` // Linf (also when absent), L2 or L1
		Accuracy map[string]float64 `json:"standard_accuracy_percent"`
		FABT     struct {
			N      int        `json:"n"`
			Norms  []*float64 `json:"norms"`
			Median float64    `json:"median_linf"`
		} `json:"fab_t"`
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	m := zooModel(t, "mnist-cnn-adv")
	d, err := datasets.Open("mnist:"+testdata+"/../data/mnist", datasets.Options{Limit: max(ref.N, ref.FABT.N)})
	if err != nil {
		t.Fatal(err)
	}
	dX := samplesOf(t, d)
	size, ctx := m.Spec().Size(), context.Background()
	logits := make([]float32, len(d.Labels)*10)
	if err := m.Logits(ctx, dX, len(d.Labels), logits); err != nil {
		t.Fatal(err)
	}
	var correct []int
	for i := 0; i < ref.N; i++ {
		if argmax(logits[i*10:(i+1)*10]) == d.Labels[i] {
			correct = append(correct, i)
		}
	}
	if ref.N > 0 && ref.Accuracy != nil {
		b := Batch{X: make([]float32, len(correct)*size), Labels: pick(d.Labels, correct), Index: correct}
		gather(b.X, dX, correct, size)
		spec := "autoattack:norm=" + strings.ToLower(cmp.Or(ref.Norm, "Linf"))
		a, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s at eps %g on %d images", spec, ref.Eps, ref.N)
		start := time.Now()
		a.(*AutoAttack).onStage = func(stage string, robust int) {
			t.Logf("%-8s done: %d of %d robust (%.0f s)", stage, robust, ref.N, time.Since(start).Seconds())
		}
		adv := make([]float32, len(b.X))
		res := &Result{Queries: make([]int, len(correct))}
		if err := a.Run(ctx, m, b, ref.Eps, Seeds{ID: a.ID()}, adv, res); err != nil {
			t.Fatal(err)
		}
		robust := len(correct)
		pct := func(k int) float64 { return 100 * float64(k) / float64(ref.N) }
		t.Logf("%-8s advcheck %6.2f%%  reference %6.2f%%", "clean", pct(robust), ref.Accuracy["clean"])
		// The comparison is at the last stage the reference's run reached
		// (the script can run a prefix of the stages).
		last, lastGot := "", 0.0
		for _, st := range a.(*AutoAttack).Stages(10) {
			for _, by := range res.BrokenBy {
				if by == st.Name() {
					robust--
				}
			}
			want, ok := ref.Accuracy[st.Name()]
			if !ok {
				t.Logf("%-8s advcheck %6.2f%%  (not in the reference's run)", st.Name(), pct(robust))
				continue
			}
			t.Logf("%-8s advcheck %6.2f%%  reference %6.2f%%", st.Name(), pct(robust), want)
			last, lastGot = st.Name(), pct(robust)
		}
		if want := ref.Accuracy[last]; last != "" && lastGot > want+0.5 {
			t.Errorf("robust accuracy after %s %.2f%%, reference %.2f%%: more than 0.5 points higher", last, lastGot, want)
		}
	}
	if ref.FABT.N > 0 {
		var rows []int
		for i := 0; i < ref.FABT.N; i++ {
			if argmax(logits[i*10:(i+1)*10]) == d.Labels[i] {
				rows = append(rows, i)
			}
		}
		b := Batch{X: make([]float32, len(rows)*size), Labels: pick(d.Labels, rows), Index: rows}
		gather(b.X, dX, rows, size)
		a, _ := Parse("fab-t")
		adv := make([]float32, len(b.X))
		dist := make([]float64, len(rows))
		if err := a.(*FAB).Minimize(ctx, m, b, Seeds{ID: a.ID()}, adv, dist, nil); err != nil {
			t.Fatal(err)
		}
		sort.Float64s(dist)
		med := dist[len(dist)/2]
		if len(dist)%2 == 0 {
			med = (dist[len(dist)/2-1] + med) / 2
		}
		t.Logf("FAB-T median minimal L∞ norm on %d images: advcheck %.4f, reference %.4f", ref.FABT.N, med, ref.FABT.Median)
		if math.Abs(med-ref.FABT.Median) > 0.05*ref.FABT.Median {
			t.Errorf("FAB-T median minimal norm %.4f, reference %.4f: more than 5 %% apart", med, ref.FABT.Median)
		}
	}
}
