package metrics

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestMcNemar checks both branches against testdata/mcnemar.json
// (gen_mcnemar.py: exact rationals for the binomial tail, mpmath's
// incomplete gamma for the chi-square tail) and hand-derived cases.
func TestMcNemar(t *testing.T) {
	b, err := os.ReadFile("testdata/mcnemar.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		B, C  int
		P     float64
		Exact bool
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Fatalf("%d cases", len(cases))
	}
	for _, c := range cases {
		p, exact := McNemar(c.B, c.C)
		if exact != c.Exact || math.Abs(p-c.P) > 1e-12*math.Max(c.P, 1e-300) && math.Abs(p-c.P) > 1e-15 {
			t.Errorf("McNemar(%d, %d) = %v (exact %v), want %v (exact %v)", c.B, c.C, p, exact, c.P, c.Exact)
		}
	}
	// By hand: b = 5, c = 1, n = 6: P(X ≤ 1) = (1 + 6)/64, doubled = 14/64.
	if p, exact := McNemar(5, 1); math.Abs(p-14.0/64) > 1e-15 || !exact {
		t.Errorf("McNemar(5, 1) = %v, %v; want 0.21875, exact", p, exact)
	}
	// b = 30, c = 10: χ² = 19²/40 = 9.025; P(χ²₁ ≥ 9.025) = erfc(√4.5125).
	if p, exact := McNemar(30, 10); math.Abs(p-math.Erfc(math.Sqrt(4.5125))) > 1e-15 || exact {
		t.Errorf("McNemar(30, 10) = %v, %v", p, exact)
	}
	// Symmetric in its arguments.
	for _, c := range cases {
		p1, _ := McNemar(c.B, c.C)
		p2, _ := McNemar(c.C, c.B)
		if p1 != p2 {
			t.Errorf("McNemar(%d, %d) = %v but McNemar(%d, %d) = %v", c.B, c.C, p1, c.C, c.B, p2)
		}
	}
}
