package certify

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestCrownGolden compares IBP and CROWN margins with an independent dense
// float64 implementation in PyTorch (testdata/certify/gen_crown_golden.py):
// same relaxations, same refinement rule, no outward rounding, so the two
// agree to rounding (1e-9 relative), and ours is never above the reference
// by more than that.
func TestCrownGolden(t *testing.T) {
	data, err := os.ReadFile("../testdata/certify/crown_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Model      string
		Image      int
		Label      int
		Eps        float64
		IBP, Crown float64
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"zoo:mnist-mlp": "zoo:mnist-mlp", "mnist-ibp": ibpModel}
	verifiers := map[string]*Verifier{}
	xs, ys := mnistSample(t, 4)
	for _, c := range cases {
		v := verifiers[c.Model]
		if v == nil {
			v = NewVerifier(loadModel(t, paths[c.Model]).Graph())
			verifiers[c.Model] = v
		}
		if ys[c.Image] != c.Label {
			t.Fatalf("image %d: label %d, the reference has %d", c.Image, ys[c.Image], c.Label)
		}
		for _, m := range []struct {
			method Method
			want   float64
		}{{IBP, c.IBP}, {CROWN, c.Crown}} {
			got, err := v.Certify(context.Background(), xs[c.Image], c.Eps, 0, 1, m.method, c.Label)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Margin-m.want) > 1e-9*(1+math.Abs(m.want)) {
				t.Errorf("%s image %d eps %v %v: margin %.12g, reference %.12g", c.Model, c.Image, c.Eps, m.method, got.Margin, m.want)
			}
		}
	}
}
