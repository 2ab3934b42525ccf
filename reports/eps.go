package reports

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/advcheck/advcheck/attacks"
)

// Eps is one radius of a sweep: the value, and the text it was requested as.
type Eps struct {
	Norm      attacks.Norm
	Requested string
	Value     float64
}

// EpsGrid holds the radii of a sweep per norm, each list ascending.
type EpsGrid map[attacks.Norm][]Eps

// Norms are the norms of a sweep, in the order reports list them.
var Norms = []string{"linf", "l2", "l1"}

// parseSweepNorm reads the name of a sweep norm: linf, l2 or l1.
func parseSweepNorm(s string) (attacks.Norm, error) {
	switch s {
	case "l1":
		return attacks.L1, nil
	}
	n, err := attacks.ParseNorm(s)
	if err != nil {
		return 0, fmt.Errorf("norm %q: want linf, l2 or l1", s)
	}
	return n, nil
}

// DefaultEps returns the default grid for inputs in [lo, hi]: L∞ 0 to 0.3,
// L2 0 to 3 and L1 0 to 15 (in steps of 0.05, 0.5 and 2.5), scaled by the
// width of the range.
func DefaultEps(lo, hi float64) EpsGrid {
	w := hi - lo
	g := EpsGrid{}
	for i := 0; i <= 6; i++ {
		g[attacks.Linf] = append(g[attacks.Linf], Eps{attacks.Linf, strconv.FormatFloat(0.05*float64(i)*w, 'g', 12, 64), roundEps(0.05 * float64(i) * w)})
		g[attacks.L2] = append(g[attacks.L2], Eps{attacks.L2, strconv.FormatFloat(0.5*float64(i)*w, 'g', 12, 64), roundEps(0.5 * float64(i) * w)})
		g[attacks.L1] = append(g[attacks.L1], Eps{attacks.L1, strconv.FormatFloat(2.5*float64(i)*w, 'g', 12, 64), roundEps(2.5 * float64(i) * w)})
	}
	return g
}

// roundEps removes the binary noise of computed grid values (0.15000000000000002
// becomes 0.15) by rounding to 12 significant digits.
func roundEps(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return f
}

// ParseEps reads an eps specification: a comma-separated list of decimals,
// fractions (8/255) and ranges START:STOP:STEP (values START + i·STEP, STOP
// included when it lies on the grid), applying to every norm; or per-norm
// lists separated by spaces, "linf=0,8/255 l2=0,0.5". Values are sorted and
// duplicates dropped. L1 radii are of another scale (AutoAttack's L1 eps on
// CIFAR-10 is 12), so an unnamed list applies to L∞ and L2 only; L1 takes
// "l1=…".
func ParseEps(s string) (EpsGrid, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty eps list")
	}
	g := EpsGrid{}
	parts := strings.Fields(s)
	for _, part := range parts {
		norms := []attacks.Norm{attacks.Linf, attacks.L2}
		list := part
		if name, rest, ok := strings.Cut(part, "="); ok {
			n, err := parseSweepNorm(strings.ToLower(name))
			if err != nil {
				return nil, fmt.Errorf("eps %q: %v", part, err)
			}
			norms, list = []attacks.Norm{n}, rest
		} else if len(parts) > 1 {
			return nil, fmt.Errorf("eps %q: several lists must each name their norm (linf=… l2=…)", s)
		}
		values, err := parseEpsList(list)
		if err != nil {
			return nil, err
		}
		for _, n := range norms {
			if _, dup := g[n]; dup && len(norms) == 1 {
				return nil, fmt.Errorf("eps: %s given twice", n)
			}
			for _, v := range values {
				v.Norm = n
				g[n] = append(g[n], v)
			}
		}
	}
	for n, list := range g {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Value < list[j].Value })
		out := list[:0]
		for i, e := range list {
			if i > 0 && e.Value == out[len(out)-1].Value {
				continue
			}
			out = append(out, e)
		}
		g[n] = out
	}
	return g, nil
}

func parseEpsList(list string) ([]Eps, error) {
	var out []Eps
	for _, tok := range strings.Split(list, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return nil, fmt.Errorf("eps list %q has an empty item", list)
		}
		if strings.Count(tok, ":") == 2 {
			f := strings.Split(tok, ":")
			var v [3]float64
			for i, x := range f {
				n, err := ParseNumber(x)
				if err != nil {
					return nil, fmt.Errorf("eps range %q: %v", tok, err)
				}
				v[i] = n
			}
			start, stop, step := v[0], v[1], v[2]
			if step <= 0 || stop < start {
				return nil, fmt.Errorf("eps range %q: want START ≤ STOP and STEP > 0", tok)
			}
			// Count in float64 first: a tiny step makes (stop-start)/step
			// overflow int, which once wrapped to a negative count and
			// silently dropped the range.
			steps := math.Floor((stop-start)/step + 1e-9)
			if !(steps < maxEpsValues) {
				return nil, fmt.Errorf("eps range %q has %s values; at most %d", tok, strconv.FormatFloat(steps+1, 'g', 4, 64), maxEpsValues)
			}
			count := int(steps) + 1
			for i := 0; i < count; i++ {
				val := start + float64(i)*step
				out = append(out, Eps{Requested: tok + "#" + strconv.Itoa(i), Value: roundEps(val)})
			}
			continue
		}
		n, err := ParseNumber(tok)
		if err != nil {
			return nil, fmt.Errorf("eps %q: %v", tok, err)
		}
		out = append(out, Eps{Requested: tok, Value: n})
	}
	for _, e := range out {
		if e.Value < 0 {
			return nil, fmt.Errorf("eps %s is negative", e.Requested)
		}
	}
	if len(out) > maxEpsValues {
		return nil, fmt.Errorf("eps list %q has %d values; at most %d", list, len(out), maxEpsValues)
	}
	return out, nil
}

// maxEpsValues bounds the radii of one list: each radius is a full attack
// over the data, so more than this is a typo, not a sweep.
const maxEpsValues = 1000

// ParseNumber reads a decimal or a fraction (8/255), as eps lists and
// policies write numbers.
func ParseNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil || y == 0 || math.IsNaN(x/y) || math.IsInf(x/y, 0) {
			return 0, fmt.Errorf("%q is not a number or fraction", s)
		}
		return x / y, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil
}
