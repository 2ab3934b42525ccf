package render

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// series is one line of a plot, with an optional band (lo, hi) around it.
type series struct {
	name   string
	xs, ys []float64
	lo, hi []float64
	dashed bool
	plain  bool // no point markers (a step curve with a point per sample)
	// interval makes lo…hi the band the robust accuracy lies in,
	// [certified, attacked], drawn grey and hatched rather than as a
	// confidence band of the series.
	interval bool
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"}

// linePlot draws series as an inline SVG (640×360) with axes, ticks and a
// legend; y spans [ymin, ymax]. Every text is escaped.
func linePlot(id, title, xlabel, ylabel string, ss []series, ymin, ymax float64) template.HTML {
	const w, h = 640.0, 360.0
	const left, right, top, bottom = 60.0, 170.0, 30.0, 45.0
	pw, ph := w-left-right, h-top-bottom
	xmax := 0.0
	for _, s := range ss {
		for _, x := range s.xs {
			xmax = math.Max(xmax, x)
		}
	}
	if xmax == 0 {
		xmax = 1
	}
	px := func(x float64) float64 { return left + pw*x/xmax }
	py := func(y float64) float64 {
		if math.IsNaN(y) {
			y = ymin
		}
		y = math.Min(math.Max(y, ymin), ymax)
		return top + ph*(1-(y-ymin)/(ymax-ymin))
	}
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, `<svg class="plot" id="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`, e(id), w, h, w, h, e(title))
	fmt.Fprintf(&b, `<text x="%g" y="18" font-size="14" font-weight="bold">%s</text>`, left, e(title))
	// Grid and ticks; a narrow y range gets the digits that tell its ticks apart.
	yfmt := "%.2g"
	if ymax-ymin < 0.1 {
		yfmt = "%.4g"
	}
	for i := 0; i <= 5; i++ {
		yv := ymin + (ymax-ymin)*float64(i)/5
		y := py(yv)
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, y, left+pw, y)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" font-size="11" text-anchor="end">%s</text>`, left-6, y+4, e(fmt.Sprintf(yfmt, yv)))
		xv := xmax * float64(i) / 5
		x := px(xv)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/>`, x, top, x, top+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="11" text-anchor="middle">%s</text>`, x, top+ph+16, e(fmt.Sprintf("%.3g", xv)))
	}
	fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>`, left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="12" text-anchor="middle">%s</text>`, left+pw/2, h-8, e(xlabel))
	fmt.Fprintf(&b, `<text x="14" y="%g" font-size="12" text-anchor="middle" transform="rotate(-90 14 %g)">%s</text>`, top+ph/2, top+ph/2, e(ylabel))
	for i, s := range ss {
		col := palette[i%len(palette)]
		if s.lo != nil && len(s.xs) > 1 {
			var pts []string
			for k := range s.xs {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.xs[k]), py(s.hi[k])))
			}
			for k := len(s.xs) - 1; k >= 0; k-- {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.xs[k]), py(s.lo[k])))
			}
			if s.interval {
				fmt.Fprintf(&b, `<polygon class="interval" points="%s" fill="#7f7f7f" fill-opacity="0.3" stroke="#7f7f7f" stroke-opacity="0.5"><title>%s</title></polygon>`, strings.Join(pts, " "), e("robust accuracy lies in this band: [certified, attacked]"))
			} else {
				fmt.Fprintf(&b, `<polygon class="band" points="%s" fill="%s" fill-opacity="0.15" stroke="none"/>`, strings.Join(pts, " "), col)
			}
		}
		var pts []string
		for k := range s.xs {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.xs[k]), py(s.ys[k])))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(pts, " "), col, dash)
		for k := range s.xs {
			if s.plain {
				break
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s</title></circle>`, px(s.xs[k]), py(s.ys[k]), col,
				e(fmt.Sprintf("%s: eps %g → %.4g", s.name, s.xs[k], s.ys[k])))
		}
		ly := top + 14 + 18*float64(i)
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"%s/>`, left+pw+10, ly-4, left+pw+30, ly-4, col, dash)
		name := s.name
		if len(name) > 22 {
			name = name[:21] + "…"
		}
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11">%s</text>`, left+pw+34, ly, e(name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above went through html.EscapeString
}
