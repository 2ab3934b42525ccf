package attacks

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/advcheck/advcheck/datasets"
)

// TestFABTMinimalNormsReference: on the first 20 MNIST test images and the
// adversarially trained zoo CNN, FAB-T's minimal L∞ norms (no eps, every
// iteration) match those of the authors' implementation
// (testdata/zoo/autoattack_reference.py) sample by sample within 5 %, and
// their medians within 2 %. Every point returned with a finite distance is
// misclassified, in the bounds and at exactly that distance.
func TestFABTMinimalNormsReference(t *testing.T) {
	if testing.Short() {
		t.Skip("attacks the zoo CNN")
	}
	var ref struct {
		Norms  []*float64 `json:"linf_norms"`
		Median float64    `json:"median_linf"`
	}
	raw, err := os.ReadFile(filepath.Join(testdata, "golden", "fab", "reference_fab_t_adv20.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	n := len(ref.Norms)
	m := zooModel(t, "mnist-cnn-adv")
	d, err := datasets.Open("mnist-sample", datasets.Options{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	x := samplesOf(t, d)
	a, _ := Parse("fab-t")
	adv := make([]float32, len(x))
	dist := make([]float64, n)
	if err := a.(*FAB).Minimize(context.Background(), m, Batch{X: x, Labels: d.Labels, Index: all(n)}, Seeds{}, adv, dist, nil); err != nil {
		t.Fatal(err)
	}
	size := m.Spec().Size()
	logits := make([]float32, n*10)
	if err := m.Logits(context.Background(), adv, n, logits); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if ref.Norms[i] == nil || math.IsInf(dist[i], 1) {
			if (ref.Norms[i] == nil) != math.IsInf(dist[i], 1) {
				t.Errorf("sample %d: distance %v, reference %v", i, dist[i], ref.Norms[i])
			}
			continue
		}
		if r := *ref.Norms[i]; math.Abs(dist[i]-r) > 0.05*r {
			t.Errorf("sample %d: minimal L∞ norm %.4f, reference %.4f", i, dist[i], r)
		}
		delta := make([]float32, size)
		for q := range delta {
			v := adv[i*size+q]
			if v < 0 || v > 1 {
				t.Fatalf("sample %d: value %v outside [0, 1]", i, v)
			}
			delta[q] = v - x[i*size+q]
		}
		if got := Linf.Dist(delta); math.Abs(got-dist[i]) > 1e-6 {
			t.Errorf("sample %d: reported distance %v, point at %v", i, dist[i], got)
		}
		if argmax(logits[i*10:(i+1)*10]) == d.Labels[i] {
			t.Errorf("sample %d: the returned point is classified correctly", i)
		}
	}
	s := append([]float64(nil), dist...)
	sort.Float64s(s)
	med := (s[n/2-1] + s[n/2]) / 2
	t.Logf("median minimal L∞ norm %.4f, reference %.4f", med, ref.Median)
	if math.Abs(med-ref.Median) > 0.02*ref.Median {
		t.Errorf("median minimal L∞ norm %.4f, reference %.4f", med, ref.Median)
	}
}
