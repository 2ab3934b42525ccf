package reports

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"math"
	"sort"

	"github.com/advcheck/advcheck/models"
)

// examplePicker keeps, for the report's headline attack and eps, the
// lowest-indexed broken and unbroken attacked samples, as images.
type examplePicker struct {
	attackID string
	eps      float64
	want     int
	list     *[]Example
}

func newExamplePicker(p *Plan, list *[]Example) *examplePicker {
	ep := &examplePicker{want: p.Examples, list: list}
	if list == nil || p.Examples <= 0 || len(p.Attacks) == 0 {
		ep.want = 0
		return ep
	}
	ep.attackID, ep.eps = headline(p)
	return ep
}

// headline picks the attack and eps whose examples the report shows: the
// last attack of the plan at the middle of its non-zero radii.
func headline(p *Plan) (string, float64) {
	a := p.Attacks[len(p.Attacks)-1]
	var nz []Eps
	for _, e := range p.epsFor(a) {
		if e.Value > 0 {
			nz = append(nz, e)
		}
	}
	if len(nz) == 0 {
		return a.ID(), 0
	}
	return a.ID(), nz[len(nz)/2].Value
}

func (ep *examplePicker) offer(attackID string, e Eps, idx, rows, labels, cleanPred, advPred []int, x, adv []float32, spec models.InputSpec) {
	if ep.want == 0 || attackID != ep.attackID || e.Value != ep.eps {
		return
	}
	size := spec.Size()
	for _, j := range rows {
		broken := advPred[j] != labels[j]
		count := 0
		for _, ex := range *ep.list {
			if ex.Broken == broken {
				count++
			}
		}
		if count >= ep.want {
			continue
		}
		xs, as := x[j*size:(j+1)*size], adv[j*size:(j+1)*size]
		amp := 0.0
		d := make([]float32, size)
		for q := range xs {
			d[q] = as[q] - xs[q]
			amp = math.Max(amp, math.Abs(float64(d[q])))
		}
		ex := Example{Index: idx[j], AttackID: attackID, Eps: e.Value, Label: labels[j], CleanPred: cleanPred[j],
			AdvPred: advPred[j], Broken: broken, Clean: pngURL(xs, spec, spec.Lo, spec.Hi),
			Adversarial: pngURL(as, spec, spec.Lo, spec.Hi)}
		if amp > 0 {
			ex.Amplify = 0.5 * (spec.Hi - spec.Lo) / amp
			ex.Perturbation = pngURL(d, spec, -amp, amp)
		} else {
			ex.Perturbation = pngURL(d, spec, -1, 1)
		}
		*ep.list = append(*ep.list, ex)
	}
}

// mergeExamples keeps the lowest-indexed `want` broken and unbroken examples.
func mergeExamples(lists [][]Example, want int) []Example {
	var all []Example
	for _, l := range lists {
		all = append(all, l...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Index < all[j].Index })
	var out []Example
	count := map[bool]int{}
	seen := map[int]bool{}
	for _, e := range all {
		if seen[e.Index] || count[e.Broken] >= want {
			continue
		}
		seen[e.Index] = true
		count[e.Broken]++
		out = append(out, e)
	}
	return out
}

// pngURL renders one sample (C×H×W, values mapped from [lo, hi] to 0…255)
// as a PNG data URL: gray for one channel, RGB for three, the first channel
// otherwise. Inputs that are not images (rank ≠ 3) render as one row.
func pngURL(v []float32, spec models.InputSpec, lo, hi float64) string {
	c, h, w := 1, 1, len(v)
	if len(spec.Shape) == 3 {
		c, h, w = spec.Shape[0], spec.Shape[1], spec.Shape[2]
	}
	level := func(f float32) uint8 {
		t := (float64(f) - lo) / (hi - lo)
		if math.IsNaN(t) {
			return 0
		}
		return uint8(math.Round(255 * math.Min(math.Max(t, 0), 1)))
	}
	var img image.Image
	if c == 3 {
		rgb := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				rgb.SetNRGBA(x, y, color.NRGBA{level(v[(0*h+y)*w+x]), level(v[(1*h+y)*w+x]), level(v[(2*h+y)*w+x]), 255})
			}
		}
		img = rgb
	} else {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x, y, color.Gray{level(v[y*w+x])})
			}
		}
		img = g
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
