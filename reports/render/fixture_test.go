package render

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// The fixture below is the one package reports' tests attack (see
// reports/engine_test.go); a renderer test runs the same small sweep.

const testdata = "../../testdata"

// memSource is an in-memory data set.
type memSource struct {
	x      []float32
	labels []int
	size   int
}

func (s *memSource) Len() int { return len(s.labels) }
func (s *memSource) ReadSamples(dst []float32, idx []int) error {
	for j, i := range idx {
		copy(dst[j*s.size:(j+1)*s.size], s.x[i*s.size:(i+1)*s.size])
	}
	return nil
}
func (s *memSource) Label(i int) int { return s.labels[i] }

// fixture is a small model with data it classifies well enough to attack.
func fixture(t testing.TB, n int) (*models.Classifier, *memSource) {
	m, err := models.Open(filepath.Join(testdata, "models", "view_chain.onnx"), models.Contract{}, models.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	size := m.Spec().Size()
	rng := rand.New(rand.NewPCG(1, 2))
	src := &memSource{x: make([]float32, n*size), labels: make([]int, n), size: size}
	for i := range src.x {
		src.x[i] = float32(rng.Float64())
	}
	logits := make([]float32, n*10)
	if err := m.Logits(context.Background(), src.x, n, logits); err != nil {
		t.Fatal(err)
	}
	for i := range src.labels {
		row := logits[i*10 : (i+1)*10]
		best := 0
		for j, v := range row {
			if v > row[best] || (math.IsNaN(float64(v)) && !math.IsNaN(float64(row[best]))) {
				best = j
			}
		}
		src.labels[i] = best
		if i%5 == 0 {
			src.labels[i] = (src.labels[i] + 1) % 10 // some clean errors
		}
	}
	return m, src
}

func plan(t testing.TB, m models.Model, src reports.Source, specs ...string) *reports.Plan {
	var as []attacks.Attack
	for _, s := range specs {
		a, err := attacks.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	g, err := reports.ParseEps("linf=0,0.02,0.05 l2=0,0.5")
	if err != nil {
		t.Fatal(err)
	}
	return &reports.Plan{Model: m, Data: src, Attacks: as, Eps: g, Batch: 7, Seed: 5, Shard: reports.Shard{I: 0, N: 1}, LabelSource: "truth", Examples: 2, Checks: true}
}

// newReport runs a plan into a report (no provenance).
func newReport(t testing.TB, p *reports.Plan, ctx context.Context, resume *reports.Report) (*reports.Report, error) {
	r := &reports.Report{Schema: reports.Schema, Dataset: reports.Dataset{Total: p.Data.Len(), LabelSource: p.LabelSource}}
	r.Config = reports.ConfigOf(p)
	var done *reports.Samples
	if resume != nil {
		done = resume.Samples
		r.Examples = resume.Examples
	}
	s, err := p.Execute(ctx, done, &r.Examples)
	r.Samples = s
	lo, hi := p.Shard.Range(p.Data.Len())
	r.Complete = err == nil && len(s.Index) == hi-lo
	if rerr := r.Reduce(); rerr != nil {
		t.Fatal(rerr)
	}
	return r, err
}

func at(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func obj(v any, keys ...any) map[string]any { return at(v, keys...).(map[string]any) }
func arr(v any, keys ...any) []any          { return at(v, keys...).([]any) }
