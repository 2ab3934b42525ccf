package attacks

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/metrics"
)

// TestMinimalNormReference compares the median minimal norms of CW-L2,
// DeepFool and FMN on the zoo CNN with the published implementations' on the
// same MNIST test images and budgets, as recorded by
// testdata/minnorm/ref_minnorm.py (docs/attacks.md has the commands). It runs
// only when ADVCHECK_MINNORM_REF names the script's JSON output and the full
// MNIST is in data/mnist; ADVCHECK_MINNORM_ONLY restricts it to some attacks
// (e.g. "df-l2,fmn-l2"). Each median must lie within 5 % of the reference's.
func TestMinimalNormReference(t *testing.T) {
	path := os.Getenv("ADVCHECK_MINNORM_REF")
	if path == "" {
		t.Skip("ADVCHECK_MINNORM_REF is not set")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Attacks map[string]struct {
			Median *float64 `json:"median"` // nil: more than half unbroken
		} `json:"attacks"`
	}
	// Python's json writes ±Infinity and NaN (an unbroken sample, a median
	// beyond the broken ones), which JSON has no word for.
	for _, w := range []string{"-Infinity", "Infinity", "NaN"} {
		raw = bytes.ReplaceAll(raw, []byte(w), []byte("null"))
	}
	var hdr map[string]any
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	num := func(k string) int { return int(hdr[k].(float64)) }
	specs := map[string]string{
		"df-l2":    "deepfool:steps=" + itoa(num("df_steps")),
		"df-linf":  "deepfool:norm=linf,steps=" + itoa(num("df_steps")),
		"ta-df-l2": "deepfool:steps=" + itoa(num("df_steps")),
		"fmn-linf": "fmn:steps=" + itoa(num("fmn_steps")),
		"fmn-l2":   "fmn:norm=l2,steps=" + itoa(num("fmn_steps")),
		"fmn-l1":   "fmn:norm=l1,steps=" + itoa(num("fmn_steps")),
		"cw":       "cw:steps=" + itoa(num("cw_steps")) + ",binary_steps=" + itoa(num("cw_binary_steps")),
	}
	only := map[string]bool{}
	if s := os.Getenv("ADVCHECK_MINNORM_ONLY"); s != "" {
		for _, k := range splitComma(s) {
			only[k] = true
		}
	}
	m := zooModel(t, "mnist-cnn")
	d, err := datasets.Open("mnist:"+filepath.Join("..", "data", "mnist"), datasets.Options{Limit: num("n")})
	if err != nil {
		t.Fatal(err)
	}
	size, k := m.Spec().Size(), m.Spec().Classes
	logits := make([]float32, d.Len()*k)
	x := samplesOf(t, d)
	if err := m.Logits(context.Background(), x, d.Len(), logits); err != nil {
		t.Fatal(err)
	}
	var correct []int
	for i := 0; i < d.Len(); i++ {
		if argmax(logits[i*k:(i+1)*k]) == d.Labels[i] {
			correct = append(correct, i)
		}
	}
	for name, r := range ref.Attacks {
		if len(only) > 0 && !only[name] {
			continue
		}
		rows := correct
		if name == "cw" {
			rows = nil
			for _, i := range correct {
				if i < num("cw_n") {
					rows = append(rows, i)
				}
			}
		}
		b := Batch{X: make([]float32, len(rows)*size), Labels: pick(d.Labels, rows), Index: rows}
		gather(b.X, x, rows, size)
		a, err := Parse(specs[name])
		if err != nil {
			t.Fatal(err)
		}
		var dist []float64
		const batch = 100
		for s := 0; s < len(rows); s += batch {
			e := min(s+batch, len(rows))
			sub := Batch{X: b.X[s*size : e*size], Labels: b.Labels[s:e], Index: b.Index[s:e]}
			_, part, _ := minimize(t, a, m, sub)
			dist = append(dist, part...)
		}
		got := metrics.Median(dist)
		if r.Median == nil {
			t.Logf("%-9s %-28s n=%d median %.5g, reference beyond the broken samples", name, specs[name], len(dist), got)
			if !math.IsInf(got, 1) && !math.IsNaN(got) {
				t.Errorf("%s: median minimal norm %.5g, reference unbroken", name, got)
			}
			continue
		}
		want := *r.Median
		t.Logf("%-9s %-28s n=%d median %.5g (p25 %.5g, p75 %.5g), reference %.5g: %+.2f %%", name, specs[name], len(dist),
			got, metrics.Percentile(dist, 25), metrics.Percentile(dist, 75), want, 100*(got/want-1))
		if math.Abs(got/want-1) > 0.05 {
			t.Errorf("%s: median minimal norm %.5g, reference %.5g", name, got, want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func splitComma(s string) []string { return strings.Split(s, ",") }
