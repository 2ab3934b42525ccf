package reports

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseCertify(t *testing.T) {
	for _, c := range []struct{ spec, id, norm string }{
		{"ibp", "ibp", "linf"},
		{" CROWN ", "crown", "linf"},
		{"smoothing", "smoothing", "l2"},
		{"smoothing:sigma=0.25,n=10000", "smoothing", "l2"},
		{"smoothing:n=1000,sigma=0.5,n0=10,alpha=0.01", "smoothing:alpha=0.01,n0=10,n=1000,sigma=0.5", "l2"},
	} {
		got, err := ParseCertify(c.spec)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if got.ID() != c.id || got.Norm().String() != c.norm {
			t.Errorf("%q: id %q norm %s, want %q %s", c.spec, got.ID(), got.Norm(), c.id, c.norm)
		}
		if back, err := ParseCertify(got.ID()); err != nil || back != got {
			t.Errorf("%q: its id %q parses to %+v, %v", c.spec, got.ID(), back, err)
		}
	}
	for _, bad := range []string{"", "lp", "ibp:eps=1", "smoothing:sigma=0", "smoothing:sigma=-1", "smoothing:n=0", "smoothing:n=2000000",
		"smoothing:alpha=0.5", "smoothing:alpha=x", "smoothing:sigma", "smoothing:k=1", "smoothing:n=5,n=6"} {
		if c, err := ParseCertify(bad); err == nil {
			t.Errorf("%q parsed to %+v", bad, c)
		}
	}
}

// smoothingPlan is the fixture plan with randomized smoothing beside the
// attacks (small n, so that it runs in a moment).
func smoothingPlan(t *testing.T, batch int) *Plan {
	m, src := fixture(t, 23)
	p := plan(t, m, src, specs...)
	p.Batch = batch
	c, err := ParseCertify("smoothing:sigma=0.1,n0=10,n=60")
	if err != nil {
		t.Fatal(err)
	}
	p.Certify = []CertifySpec{c}
	return p
}

// TestSmoothingInTheReport: the certified accuracy at each L2 radius is
// the count of samples whose smoothed class is the label with a radius at
// least that large; the report survives JSON (Decode verifies every
// figure), does not depend on the batch, and its shards merge to it.
func TestSmoothingInTheReport(t *testing.T) {
	r, err := newReport(t, smoothingPlan(t, 7), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Samples
	if len(s.Certified) != 1 || len(s.Certified[0].Pred) != 23 {
		t.Fatalf("certificates %+v", s.Certified)
	}
	cs := s.Certified[0]
	if len(r.Certified) != 2 {
		t.Fatalf("%d certified rows, want one per L2 radius (0, 0.5)", len(r.Certified))
	}
	someRadius := false
	for _, row := range r.Certified {
		want := 0
		for i := range s.Index {
			if cs.Pred[i] == s.Label[i] && float64(cs.Radius[i]) >= row.Eps {
				want++
			}
			someRadius = someRadius || cs.Radius[i] > 0
		}
		if row.NCertified != want || row.Classifier != ClassifierSmoothed || row.Norm != "l2" || row.N != 23 {
			t.Errorf("%+v, want %d certified of 23 at l2 eps %g (smoothed)", row, want, row.Eps)
		}
	}
	if !someRadius {
		t.Error("no sample has a positive radius")
	}
	if len(r.Summary.CertifiedRadius) != 1 || r.Summary.CertifiedRadius[0].NCorrect+r.Summary.CertifiedRadius[0].NWrong+r.Summary.CertifiedRadius[0].NAbstained != 23 {
		t.Errorf("radius summary %+v", r.Summary.CertifiedRadius)
	}
	for _, f := range r.Flags {
		if f.ID == FlagCertifiedBroken {
			t.Errorf("smoothing certifies another classifier, yet %v", f)
		}
	}
	b := encode(t, r)
	validate(t, compileSchema(t), "smoothing report", withProvenance(r))
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, back), b) {
		t.Error("the report changed through JSON")
	}
	other, err := newReport(t, smoothingPlan(t, 4), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	other.Config.Batch = r.Config.Batch
	if !bytes.Equal(encode(t, other), b) {
		t.Error("the report depends on the batch")
	}
	var parts []*Report
	for i := range 2 {
		p := smoothingPlan(t, 7)
		p.Shard = Shard{i, 2}
		part, err := newReport(t, p, context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(encode(t, part))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, merged), b) {
		t.Error("the merged shards differ from the unsharded report")
	}

	// Edited certificates or figures are refused.
	for name, f := range map[string]func(v map[string]any){
		"radius": func(v map[string]any) { arr(v, "samples", "certified", 0, "radius")[3] = 9.0 },
		"pred":   func(v map[string]any) { arr(v, "samples", "certified", 0, "pred")[3] = 11.0 },
		"abstain": func(v map[string]any) {
			for i, r := range arr(v, "samples", "certified", 0, "radius") {
				if r.(float64) > 0 {
					arr(v, "samples", "certified", 0, "pred")[i] = -1.0
					return
				}
			}
		},
		"figure":    func(v map[string]any) { obj(v, "certified", 1)["n_certified"] = 23.0 },
		"radius p":  func(v map[string]any) { obj(v, "summary", "certified_radius", 0)["max"] = 99.0 },
		"eps":       func(v map[string]any) { arr(v, "samples", "certified", 0, "eps")[1] = 0.25 },
		"missing":   func(v map[string]any) { obj(v, "samples")["certified"] = []any{} },
		"config id": func(v map[string]any) { obj(v, "config", "certify", 0)["certify_id"] = "smoothing:sigma=0.2" },
	} {
		r.Model.Outputs = []TensorInfo{{Name: "logits", Shape: []int{-1, 10}}}
		if _, err := Decode(edit(t, encode(t, r), f)); !errors.Is(err, ErrBadReport) {
			t.Errorf("%s edited: %v, want a bad report", name, err)
		}
	}
}

// withProvenance encodes a copy of r with the run, model and data
// descriptions a sweep writes, which the schema requires.
func withProvenance(r *Report) []byte {
	c := *r
	c.Run = RunOf(timeZero, []string{"advcheck", "sweep"})
	c.Model = Model{Path: "m.onnx", SHA256: sha64, Inputs: []TensorInfo{}, Outputs: []TensorInfo{}, OutputKind: "logits", InputContract: InputContract{Layout: "nchw"}}
	c.Dataset.SHA256Decoded = sha64
	b, _ := c.Encode()
	return b
}

// liar claims every sample certified at every radius.
type liar struct{ calls int }

func (l *liar) CertifyLinf(context.Context, string, []float32, float64, int) (bool, string, error) {
	l.calls++
	return true, "", nil
}

// stopper is stopped by an op on every sample.
type stopper struct{}

func (stopper) CertifyLinf(context.Context, string, []float32, float64, int) (bool, string, error) {
	return false, `Softmax node "/sm"`, nil
}

// TestCertifiedBrokenIsAnError: a bound method whose certificates the
// attacks contradict yields an error flag naming the first sample; the
// worst case carries the certified lower end [certified, attacked].
func TestCertifiedBrokenIsAnError(t *testing.T) {
	m, src := fixture(t, 23)
	p := plan(t, m, src, specs...)
	ibp, _ := ParseCertify("ibp")
	p.Certify = []CertifySpec{ibp}
	l := &liar{}
	p.Bounds = l
	r, err := newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.calls == 0 {
		t.Fatal("the bound certifier was not called")
	}
	var flag *Flag
	for i := range r.Flags {
		if r.Flags[i].ID == FlagCertifiedBroken {
			flag = &r.Flags[i]
		}
	}
	if flag == nil || flag.Severity != "error" || !strings.Contains(flag.Message, "certified by ibp") {
		t.Fatalf("flags %+v, want a certified_broken error", r.Flags)
	}
	for _, w := range r.WorstCase {
		if w.Norm == "linf" {
			if w.Certified == nil || w.Certified.NCertified != r.Clean.NCorrect || w.Certified.Methods[0] != "ibp" {
				t.Errorf("worst case %+v: certified %+v, want every correctly classified sample (%d)", w, w.Certified, r.Clean.NCorrect)
			}
		} else if w.Certified != nil {
			t.Errorf("l2 worst case %+v has an L∞ certificate", w)
		}
	}
	validate(t, compileSchema(t), "ibp report", withProvenance(r))
	if _, err := Decode(encode(t, r)); err != nil {
		t.Fatal(err)
	}
	// An honest certifier stopped by an op certifies nothing and says why.
	p.Bounds = stopper{}
	r, err = newReport(t, p, context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range r.Certified {
		if row.NCertified != 0 || row.NStopped != r.Clean.NCorrect {
			t.Errorf("%+v: want none certified and %d stopped", row, r.Clean.NCorrect)
		}
	}
	for _, f := range r.Flags {
		if f.ID == FlagCertifiedBroken {
			t.Errorf("nothing certified, yet %v", f)
		}
	}
	if r.Samples.Certified[0].StoppedBy[1] != `Softmax node "/sm"` && r.Samples.Certified[0].StoppedBy[2] != `Softmax node "/sm"` {
		t.Errorf("stopped_by %q", r.Samples.Certified[0].StoppedBy)
	}
}

// TestCertifyNeedsItsNorm: a method whose norm has no radius is refused.
func TestCertifyNeedsItsNorm(t *testing.T) {
	m, src := fixture(t, 5)
	p := plan(t, m, src, "fgsm")
	g, _ := ParseEps("linf=0,0.1")
	p.Eps = g
	c, _ := ParseCertify("smoothing")
	p.Certify = []CertifySpec{c}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "no l2 eps") {
		t.Errorf("validate: %v", err)
	}
	ibp, _ := ParseCertify("ibp")
	p.Certify = []CertifySpec{ibp}
	if err := p.Validate(); err == nil {
		t.Error("ibp without a bound certifier validated")
	}
}

// failing fails on one sample's call.
type failing struct{}

func (failing) CertifyLinf(_ context.Context, _ string, x []float32, _ float64, _ int) (bool, string, error) {
	if x[1] > 0.5 {
		return false, "", errors.New("certify: bad input: x outside the bounds")
	}
	return true, "", nil
}

// TestCertifyErrorEndsTheRun: an error of the bound certifier on any
// sample ends the run with that error, whatever goroutine met it.
func TestCertifyErrorEndsTheRun(t *testing.T) {
	m, src := fixture(t, 23)
	p := plan(t, m, src, "fgsm")
	ibp, _ := ParseCertify("ibp")
	p.Certify, p.Bounds, p.Checks = []CertifySpec{ibp}, failing{}, false
	_, err := p.Execute(context.Background(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "x outside the bounds") || !strings.Contains(err.Error(), "ibp at eps") {
		t.Errorf("error %v, want the certifier's", err)
	}
}

// TestCertifyInterruptAndResume: a run with smoothing and a bound method
// stopped after two batches, read back and resumed, gives the
// uninterrupted report.
func TestCertifyInterruptAndResume(t *testing.T) {
	withBounds := func() *Plan {
		p := smoothingPlan(t, 7)
		ibp, _ := ParseCertify("ibp")
		p.Certify = append(p.Certify, ibp)
		p.Bounds = stopper{}
		return p
	}
	full, err := newReport(t, withBounds(), context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := withBounds()
	p.Progress = &cancelAfter{k: 2, cancel: cancel}
	partial, err := newReport(t, p, ctx, nil)
	if !errors.Is(err, context.Canceled) || partial.Clean.N != 14 {
		t.Fatalf("interrupted run: %v with %d samples, want two batches (14)", err, partial.Clean.N)
	}
	back, err := Read(bytes.NewReader(encode(t, partial)), 0)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := newReport(t, withBounds(), context.Background(), back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(encode(t, full), encode(t, resumed)) {
		t.Fatal("resumed report differs from the uninterrupted one")
	}
}
