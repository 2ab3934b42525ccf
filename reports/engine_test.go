package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/models"
)

const testdata = "../testdata"

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

// fixture is a small model with data it classifies well enough to attack:
// inputs are the model's own clean predictions' source images.
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
		src.labels[i] = argmax(logits[i*10 : (i+1)*10])
		if i%5 == 0 {
			src.labels[i] = (src.labels[i] + 1) % 10 // some clean errors
		}
	}
	return m, src
}

func plan(t testing.TB, m models.Model, src Source, specs ...string) *Plan {
	var as []attacks.Attack
	for _, s := range specs {
		a, err := attacks.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	g, err := ParseEps("linf=0,0.02,0.05 l2=0,0.5")
	if err != nil {
		t.Fatal(err)
	}
	return &Plan{Model: m, Data: src, Attacks: as, Eps: g, Batch: 7, Seed: 5, Shard: Shard{0, 1}, LabelSource: "truth", Examples: 2, Checks: true}
}

// newReport runs a plan into a report (no provenance).
func newReport(t testing.TB, p *Plan, ctx context.Context, resume *Report) (*Report, error) {
	r := &Report{Schema: Schema, Dataset: Dataset{Total: p.Data.Len(), LabelSource: p.LabelSource}}
	r.Config = ConfigOf(p)
	var done *Samples
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

func encode(t testing.TB, r *Report) []byte {
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var specs = []string{"fgsm", "pgd:steps=3", "pgd:steps=3,norm=l2", "square:queries=15"}

func TestDeterministicAcrossThreadsAndBatch(t *testing.T) {
	m, src := fixture(t, 23)
	p := plan(t, m, src, specs...)
	a, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	models.SetThreads(1)
	p2 := plan(t, m, src, specs...)
	p2.Batch = 4
	b, err := newReport(t, p2, context.Background(), nil)
	models.SetThreads(0)
	if err != nil {
		t.Fatal(err)
	}
	b.Config.Batch = a.Config.Batch // the batch size is part of the config, not of the results
	if !bytes.Equal(encode(t, a), encode(t, b)) {
		t.Fatal("reports differ between thread counts / batch sizes")
	}
	if !a.Complete || a.Clean.N != 23 {
		t.Fatalf("complete %v, clean n %d", a.Complete, a.Clean.N)
	}
	// Figures reduce from the samples: accuracy at eps 0 equals clean accuracy.
	for _, res := range a.Results {
		if res.Eps == 0 && res.NCorrect != a.Clean.NCorrect {
			t.Errorf("%s at eps 0: %d correct, clean %d", res.AttackID, res.NCorrect, a.Clean.NCorrect)
		}
	}
	if len(a.Examples) == 0 {
		t.Error("no examples picked")
	}
}

func TestShardsMergeToTheUnshardedReport(t *testing.T) {
	m, src := fixture(t, 23)
	full, err := newReport(t, plan(t, m, src, specs...), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Report
	for i := 2; i >= 0; i-- { // out of order on purpose
		p := plan(t, m, src, specs...)
		p.Shard = Shard{i, 3}
		r, err := newReport(t, p, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Through JSON, as `advcheck merge` reads them.
		back, err := Read(bytes.NewReader(encode(t, r)), 0)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	// Every figure takes part, the L1 mean (a later addition) included.
	for _, res := range full.Results {
		if l1 := res.Perturbation.L1Mean; l1 == nil || !l1.Valid() || (res.Eps > 0 && *l1 <= 0) {
			t.Fatalf("%s at eps %g: l1_mean %v", res.AttackID, res.Eps, l1)
		}
	}
	if a, b := encode(t, full), encode(t, merged); !bytes.Equal(a, b) {
		la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
		for i := 0; i < len(la) && i < len(lb); i++ {
			if !bytes.Equal(la[i], lb[i]) {
				t.Fatalf("merged report differs from the unsharded one at line %d:\n%s\n---\n%s", i+1, la[i], lb[i])
			}
		}
		t.Fatalf("merged report differs from the unsharded one in length: %d vs %d lines", len(la), len(lb))
	}
	if _, err := Merge(parts[:2]); err == nil {
		t.Error("merge with a missing shard succeeded")
	}
	other := *parts[0]
	other.Model.SHA256 = "x"
	if _, err := Merge([]*Report{parts[1], parts[2], &other}); err == nil {
		t.Error("merge of different models succeeded")
	}
}

// cancelAfter cancels the context after k progress updates.
type cancelAfter struct {
	k      int
	cancel func()
}

func (c *cancelAfter) Start(int) {}
func (c *cancelAfter) Done()     {}
func (c *cancelAfter) Add(int) {
	c.k--
	if c.k == 0 {
		c.cancel()
	}
}

// Bisection narrows each sample's minimal eps inside the grid interval where
// the worst case first broke it.
func TestRefineMinEps(t *testing.T) {
	m, src := fixture(t, 23)
	p := plan(t, m, src, "fgsm", "pgd:steps=3")
	coarse, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p.RefineSteps = 4
	fine, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rf *RefinedMinEps
	for k := range fine.Samples.Refined {
		if fine.Samples.Refined[k].Norm == "linf" {
			rf = &fine.Samples.Refined[k]
		}
	}
	if rf == nil {
		t.Fatal("no refined values")
	}
	grid := []float64{0, 0.02, 0.05}
	refined := 0
	for i, v := range rf.Values {
		if fine.Samples.CleanPred[i] != fine.Samples.Label[i] {
			if v != 0 {
				t.Errorf("clean error %d has minimal eps %v", i, v)
			}
			continue
		}
		if v < 0 {
			continue
		}
		// v lies in the grid interval that broke the sample, and is no larger.
		k := 1
		for k < len(grid) && float64(v) > grid[k]+1e-9 {
			k++
		}
		if k == len(grid) || float64(v) <= grid[k-1] {
			t.Errorf("sample %d: refined %v outside its grid interval", i, v)
		}
		if float64(v) != grid[k] {
			refined++
		}
	}
	if refined == 0 {
		t.Error("bisection refined no sample")
	}
	for i := range coarse.Summary.MinimalEps {
		c, f := coarse.Summary.MinimalEps[i], fine.Summary.MinimalEps[i]
		if f.BisectionSteps != 4 || (c.Median.Valid() && f.Median.Valid() && f.Median > c.Median) {
			t.Errorf("%s: coarse median %v, refined %v (steps %d)", c.Norm, c.Median, f.Median, f.BisectionSteps)
		}
	}
}

func TestInterruptAndResume(t *testing.T) {
	m, src := fixture(t, 23)
	full, err := newReport(t, plan(t, m, src, specs...), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := plan(t, m, src, specs...)
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, err := newReport(t, p, ctx, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if partial.Complete || partial.Clean.N != 14 {
		t.Fatalf("partial report: complete %v with %d samples, want 14 (two batches)", partial.Complete, partial.Clean.N)
	}
	back, err := Read(bytes.NewReader(encode(t, partial)), 0)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := newReport(t, plan(t, m, src, specs...), context.Background(), back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, full), encode(t, resumed)) {
		t.Fatal("resumed report differs from the uninterrupted one")
	}
}

func TestNullsNeverBreakJSON(t *testing.T) {
	r := &Report{Schema: Schema, Samples: &Samples{}}
	r.Config.Attacks = []AttackConfig{{AttackID: "fgsm", Name: "fgsm", Norm: "linf"}}
	r.Config.Eps = []EpsConfig{{Norm: "linf", Requested: "0.1", Value: 0.1}}
	r.Samples.Outcomes = []Outcomes{{AttackID: "fgsm", Norm: "linf", Eps: 0.1}}
	if err := r.Reduce(); err != nil {
		t.Fatal(err)
	}
	b := encode(t, r)
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v["clean"].(map[string]any)["accuracy"] != nil {
		t.Error("accuracy of no samples is not null")
	}
	if len(r.Flags) == 0 {
		t.Error("no flag says why a figure is null")
	}
}

func TestParseEps(t *testing.T) {
	g, err := ParseEps("0:0.3:0.1,8/255,0.1")
	if err != nil {
		t.Fatal(err)
	}
	var vals []float64
	for _, e := range g[attacks.Linf] {
		vals = append(vals, e.Value)
	}
	want := []float64{0, 8.0 / 255, 0.1, 0.2, 0.3}
	if len(vals) != len(want) {
		t.Fatalf("values %v, want %v", vals, want)
	}
	for i := range want {
		if vals[i] != want[i] {
			t.Fatalf("values %v, want %v", vals, want)
		}
	}
	if len(g[attacks.L2]) != 5 {
		t.Error("a plain list does not apply to L2")
	}
	g, err = ParseEps("linf=0,8/255 l2=0,0.5")
	if err != nil || len(g[attacks.Linf]) != 2 || len(g[attacks.L2]) != 2 || g[attacks.Linf][1].Requested != "8/255" {
		t.Errorf("per-norm lists: %v %v", g, err)
	}
	for _, bad := range []string{"", "x", "-0.1", "0:1:0", "1:0:0.1", "l3=0.1", "l1=0.1 l1=0.2", "0.1 0.2", "0,,1", "1/0", "linf=0.1 linf=0.2"} {
		if _, err := ParseEps(bad); err == nil {
			t.Errorf("ParseEps(%q) accepted", bad)
		}
	}
}

var timeZero = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const sha64 = "0000000000000000000000000000000000000000000000000000000000000000"

// failingSource fails to read the samples from index bad on.
type failingSource struct {
	*memSource
	bad   int
	reads [][]int
}

var errRead = errors.New("the data file changed")

func (s *failingSource) ReadSamples(dst []float32, idx []int) error {
	s.reads = append(s.reads, append([]int(nil), idx...))
	if idx[len(idx)-1] >= s.bad {
		return errRead
	}
	return s.memSource.ReadSamples(dst, idx)
}

// Batches are read in order, one ahead of the attack; a batch that cannot
// be read ends the run with its error after the batches before it, whose
// samples the partial report keeps, and nothing after it is read.
func TestReadErrorEndsTheRun(t *testing.T) {
	m, src := fixture(t, 23)
	fs := &failingSource{memSource: src, bad: 15}
	r, err := newReport(t, plan(t, m, fs, "fgsm"), context.Background(), nil)
	if !errors.Is(err, errRead) {
		t.Fatalf("run: %v, want the read error", err)
	}
	if r.Complete || r.Clean.N != 14 {
		t.Errorf("partial report: complete %v with %d samples, want the 14 of the two batches read", r.Complete, r.Clean.N)
	}
	if len(fs.reads) != 3 || fs.reads[0][0] != 0 || fs.reads[1][0] != 7 || fs.reads[2][0] != 14 {
		t.Errorf("reads %v, want batches from 0, 7 and 14 in order", fs.reads)
	}
}
