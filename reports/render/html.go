package render

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/advcheck/advcheck/reports"
)

// The page's only script: it records, for tests and for people, whether the
// plots and images rendered and whether anything failed.
const pageScript = `window.addEventListener("error", function () { var b = document.body; b.dataset.jsErrors = String(Number(b.dataset.jsErrors || "0") + 1); });
window.addEventListener("load", function () {
  var plots = Array.prototype.filter.call(document.querySelectorAll("svg.plot"), function (s) { var r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0 && s.querySelectorAll("polyline.series").length > 0; });
  var imgs = Array.prototype.filter.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.dataset.plotsRendered = String(plots.length);
  document.body.dataset.intervalBands = String(Array.prototype.filter.call(document.querySelectorAll("svg.plot polygon.interval"), function (p) { var r = p.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length);
  document.body.dataset.imagesLoaded = String(imgs.length) + "/" + String(document.images.length);
});`

var scriptHash = func() string {
	s := sha256.Sum256([]byte(pageScript))
	return "sha256-" + base64.StdEncoding.EncodeToString(s[:])
}()

// pngData accepts only the PNG data URLs advcheck itself writes: a report
// read from disk may be hostile, and anything else is dropped.
var pngData = regexp.MustCompile(`^data:image/png;base64,[A-Za-z0-9+/]+=*$`)

func safeImage(s string) template.URL {
	if pngData.MatchString(s) {
		return template.URL(s)
	}
	return ""
}

type htmlExample struct {
	reports.Example
	CleanURL, AdvURL, PertURL     template.URL
	LabelName, CleanName, AdvName string
}

type htmlPage struct {
	R          *reports.Report
	CSP        string
	Script     template.JS
	Verdict    string
	VerdictOK  bool
	Embedding  bool // an output (embedding) task: no classes, the outputs' cosine is the measure
	L1         bool // the results state l1_mean (reports written before it do not)
	Headline   []string
	Intervals  []string // the robust-accuracy intervals and radius distributions (intervalLines)
	Plots      []template.HTML
	Examples   []htmlExample
	Grid       *htmlCorruptionGrid // the corruption example grid, when the sweep ran corruptions
	ConfigJSON string
	RunJSON    string
	ModelJSON  string
	DataJSON   string
}

func className(classes []string, c int) string {
	if c >= 0 && c < len(classes) {
		return fmt.Sprintf("%d (%s)", c, classes[c])
	}
	return fmt.Sprint(c)
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// HTML renders the audit report: one self-contained page (no network:
// styles, SVG plots and PNG images are inline, and the page's Content
// Security Policy forbids loading anything else). Everything that comes from
// the model, the data or the command line is escaped.
func HTML(w io.Writer, r *reports.Report) error {
	p := htmlPage{R: r, Script: template.JS(pageScript), L1: hasL1Mean(r),
		CSP: "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src '" + scriptHash + "'"}
	switch {
	case r.Gate != nil && r.Gate.Passed && r.Complete:
		p.Verdict, p.VerdictOK = "Gate passed", true
	case r.Gate != nil:
		p.Verdict = "Gate failed"
	case !r.Complete:
		p.Verdict = fmt.Sprintf("Incomplete: %d of %d samples evaluated", r.Dataset.Samples, r.Dataset.Total)
	default:
		p.Verdict, p.VerdictOK = "Sweep complete", true
	}
	if r.Config.Task == reports.TaskEmbedding {
		p.Embedding = true
		p.Headline = embeddingHeadline(r)
		p.Plots = embeddingPlots(r)
		p.ConfigJSON, p.RunJSON, p.ModelJSON, p.DataJSON = indentJSON(r.Config), indentJSON(r.Run), indentJSON(r.Model), indentJSON(r.Dataset)
		return pageTemplate.Execute(w, p)
	}
	p.Headline = append(p.Headline, fmt.Sprintf("Clean accuracy %s %s on %d samples", pct(r.Clean.Accuracy), ci(r.Clean.AccuracyCI95), r.Clean.N))
	p.Intervals = intervalLines(r)
	last := map[string]reports.WorstCase{}
	for _, wc := range r.WorstCase {
		last[wc.Norm] = wc
	}
	for _, norm := range reports.Norms {
		if wc, ok := last[norm]; ok {
			p.Headline = append(p.Headline, fmt.Sprintf("Worst-case %s accuracy at eps %g: %s %s (%s)", norm, wc.Eps, pct(wc.Accuracy), ci(wc.AccuracyCI95), strings.Join(wc.Attacks, ", ")))
		}
	}
	p.Plots = append(plots(r), corruptionPlot(r)...)
	p.Grid = corruptionGrid(r)
	if c := r.Corruptions; c != nil {
		h := fmt.Sprintf("Corruption accuracy %s over %d corruptions × %d severities", pct(c.Overall.Accuracy), len(r.Config.Corruptions), len(r.Config.Severities))
		if c.MCE != nil {
			h += fmt.Sprintf("; mCE %s, relative mCE %s against %s", num(c.MCE.MCE, "%.3f"), num(c.MCE.RelativeMCE, "%.3f"), r.Config.CorruptionBaseline.ModelPath)
		}
		p.Headline = append(p.Headline, h)
	}
	for _, ex := range r.Examples {
		p.Examples = append(p.Examples, htmlExample{Example: ex, CleanURL: safeImage(ex.Clean), AdvURL: safeImage(ex.Adversarial),
			PertURL: safeImage(ex.Perturbation), LabelName: className(r.Model.Classes, ex.Label),
			CleanName: className(r.Model.Classes, ex.CleanPred), AdvName: className(r.Model.Classes, ex.AdvPred)})
	}
	sort.SliceStable(p.Examples, func(i, j int) bool { return p.Examples[i].Broken && !p.Examples[j].Broken })
	p.ConfigJSON = indentJSON(r.Config)
	p.RunJSON = indentJSON(r.Run)
	p.ModelJSON = indentJSON(r.Model)
	d := r.Dataset
	p.DataJSON = indentJSON(d)
	return pageTemplate.Execute(w, p)
}

// plots draws accuracy (with 95% bands) and mean logit cosine over the
// attacked samples against eps, per norm, for every attack and the worst case.
func plots(r *reports.Report) []template.HTML {
	var out []template.HTML
	for _, norm := range reports.Norms {
		var acc, cos []series
		for _, a := range r.Config.Attacks {
			if a.Norm != norm {
				continue
			}
			sa := series{name: a.AttackID}
			sc := series{name: a.AttackID}
			for _, res := range r.Results {
				if res.AttackID != a.AttackID {
					continue
				}
				sa.xs = append(sa.xs, res.Eps)
				sa.ys = append(sa.ys, float64(res.Accuracy))
				sa.lo = append(sa.lo, float64(res.AccuracyCI95[0]))
				sa.hi = append(sa.hi, float64(res.AccuracyCI95[1]))
				// A null cosine (no sample attacked) has no point: drawn at
				// an axis end it would read as a measurement.
				if res.Cosine.Logits.Mean.Valid() {
					sc.xs = append(sc.xs, res.Eps)
					sc.ys = append(sc.ys, float64(res.Cosine.Logits.Mean))
				}
			}
			acc, cos = append(acc, sa), append(cos, sc)
		}
		if len(acc) == 0 {
			continue
		}
		wc := series{name: "worst case", dashed: true}
		for _, w := range r.WorstCase {
			if w.Norm == norm {
				wc.xs = append(wc.xs, w.Eps)
				wc.ys = append(wc.ys, float64(w.Accuracy))
				wc.lo = append(wc.lo, float64(w.AccuracyCI95[0]))
				wc.hi = append(wc.hi, float64(w.AccuracyCI95[1]))
			}
		}
		if len(wc.xs) > 0 {
			acc = append(acc, wc)
		}
		acc = append(acc, certifiedSeries(r, norm)...)
		out = append(out, linePlot("accuracy-"+norm, "Robust accuracy vs eps ("+norm+")", "eps ("+norm+", pixel units)", "accuracy", acc, 0, 1))
		if curves := minNormCurves(r, norm); len(curves) > 0 {
			if len(wc.xs) > 0 {
				curves = append(curves, wc)
			}
			out = append(out, linePlot("min-norm-"+norm, "Robust accuracy from minimal norms ("+norm+")", "eps ("+norm+", pixel units)", "accuracy", curves, 0, 1))
		}
		out = append(out, linePlot("cosine-"+norm, "Cosine of clean and adversarial logits, attacked samples ("+norm+")", "eps ("+norm+", pixel units)", "mean cosine (attacked)", cos, -1, 1))
	}
	return out
}

// embeddingHeadline says, for an output task, what was attacked and, per
// norm, the lowest mean and 5th-percentile cosine of clean and adversarial
// outputs at the largest eps.
func embeddingHeadline(r *reports.Report) []string {
	out := []string{fmt.Sprintf("Output task (%s loss): the attacks move the model's outputs away from the clean ones; %d samples, every one attacked", r.Config.OutputLoss, r.Dataset.Samples)}
	for _, norm := range reports.Norms {
		var worst *reports.Result
		for i := range r.Results {
			res := &r.Results[i]
			if res.Norm != norm || res.Cosine.Outputs == nil || !res.Cosine.Outputs.Mean.Valid() {
				continue
			}
			if worst == nil || res.Eps > worst.Eps || res.Eps == worst.Eps && res.Cosine.Outputs.Mean < worst.Cosine.Outputs.Mean {
				worst = res
			}
		}
		if worst != nil {
			c := worst.Cosine.Outputs
			out = append(out, fmt.Sprintf("Lowest %s output cosine at eps %.4g: mean %s, p5 %s, min %s (%s)", norm, worst.Eps,
				num(c.Mean, "%.4f"), num(c.P5, "%.4f"), num(c.Min, "%.4f"), worst.AttackID))
		}
	}
	return out
}

// embeddingPlots draws, per norm, the mean (solid) and 5th-percentile
// (dashed) cosine of clean and adversarial outputs against eps, per attack.
func embeddingPlots(r *reports.Report) []template.HTML {
	var out []template.HTML
	for _, norm := range reports.Norms {
		var ss []series
		for _, a := range r.Config.Attacks {
			if a.Norm != norm {
				continue
			}
			mean := series{name: a.AttackID + " mean"}
			p5 := series{name: a.AttackID + " p5", dashed: true}
			for _, res := range r.Results {
				if res.AttackID != a.AttackID || res.Cosine.Outputs == nil {
					continue
				}
				if c := res.Cosine.Outputs; c.Mean.Valid() {
					mean.xs, mean.ys = append(mean.xs, res.Eps), append(mean.ys, float64(c.Mean))
				}
				if c := res.Cosine.Outputs; c.P5.Valid() {
					p5.xs, p5.ys = append(p5.xs, res.Eps), append(p5.ys, float64(c.P5))
				}
			}
			ss = append(ss, mean, p5)
		}
		if len(ss) == 0 {
			continue
		}
		// The y axis spans what was measured up to 1, with a margin, so that
		// cosines close to 1 stay readable; never below -1.
		lo := 1.0
		for _, s := range ss {
			for _, y := range s.ys {
				lo = math.Min(lo, y)
			}
		}
		ymin := math.Max(-1, lo-0.1*(1-lo))
		if 1-ymin < 1e-3 {
			ymin = 1 - 1e-3
		}
		out = append(out, linePlot("output-cosine-"+norm, "Cosine of clean and adversarial outputs ("+norm+")", "eps ("+norm+", pixel units)", "cosine (all samples)", ss, ymin, 1))
	}
	return out
}

// minNormCurves draws each minimal-norm attack's robustness curve of a norm
// as a step function: the accuracy drops at each sample's minimal norm.
func minNormCurves(r *reports.Report, norm string) []series {
	var out []series
	for _, mn := range r.Summary.MinNorm {
		if mn.Norm != norm || len(mn.Curve) == 0 {
			continue
		}
		s := series{name: mn.AttackID + " (minimal norms)", plain: true}
		for k, p := range mn.Curve {
			if k > 0 {
				s.xs = append(s.xs, p.Eps)
				s.ys = append(s.ys, float64(mn.Curve[k-1].Accuracy))
			}
			s.xs = append(s.xs, p.Eps)
			s.ys = append(s.ys, float64(p.Accuracy))
		}
		out = append(out, s)
	}
	return out
}

var funcs = template.FuncMap{
	"pct":    pct,
	"ci":     ci,
	"num":    num,
	"numopt": optNum,
	"join":   strings.Join,
	"upper":  strings.ToUpper,
}

var pageTemplate = template.Must(template.New("page").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>advcheck report — {{.R.Model.Path}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.verdict { padding: .8rem 1rem; border-radius: 6px; font-weight: bold; font-size: 1.1rem; }
.ok { background: #e6f4ea; border: 1px solid #34a853; } .bad { background: #fce8e6; border: 1px solid #d93025; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; } th { background: #f3f3f3; }
td.l, th.l { text-align: left; }
.fail { color: #d93025; font-weight: bold; } .pass { color: #188038; }
.flag-warning, .flag-error { color: #b3261e; } .flag-info { color: #555; }
.plots svg { margin: .5rem 1rem .5rem 0; max-width: 100%; height: auto; }
.examples { display: flex; flex-wrap: wrap; gap: 1rem; }
.example { border: 1px solid #ccc; border-radius: 6px; padding: .5rem; font-size: .8rem; }
.example img { width: 84px; height: 84px; image-rendering: pixelated; border: 1px solid #999; margin-right: 4px; }
.broken { border-color: #d93025; }
table.grid td { text-align: center; font-size: .75rem; } table.grid img { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid #999; } pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .8rem; }
code { word-break: break-all; }
</style>
</head>
<body>
<h1>advcheck robustness report</h1>
<div class="verdict {{if .VerdictOK}}ok{{else}}bad{{end}}">{{.Verdict}}</div>
<ul>{{range .Headline}}<li>{{.}}</li>{{end}}</ul>
<p>Model <code>{{.R.Model.Path}}</code> (SHA-256 <code>{{.R.Model.SHA256}}</code>, output kind {{.R.Model.OutputKind}}).
Data <code>{{.R.Dataset.Spec}}</code> (decoded SHA-256 <code>{{.R.Dataset.SHA256Decoded}}</code>, {{.R.Dataset.Samples}} of {{.R.Dataset.Total}} samples, labels: {{.R.Dataset.LabelSource}}{{with .R.Dataset.Decoder}}, JPEG decoder: {{.}}{{end}}).
Seed {{.R.Config.Seed}}, shard {{.R.Config.Shard.I}}/{{.R.Config.Shard.N}}. Epsilon is in pixel units: inputs in [{{index .R.Model.InputContract.Bounds 0}}, {{index .R.Model.InputContract.Bounds 1}}].</p>
{{with .R.Dataset.Preprocess}}<p>Every image was preprocessed on its 8-bit channels before scaling to [0, 1] (the decoded SHA-256 is of the result):{{with .Resize}} shorter side resized to {{.}} px{{end}}{{with .Filter}} ({{.}}){{end}}{{if and .Resize .CenterCrop}}, then{{end}}{{with .CenterCrop}} centre crop {{index . 0}}×{{index . 1}} px (H×W){{end}}.</p>{{end}}
{{with .R.Dataset.ClassMap}}<details><summary>Labels of the {{len .Classes}} class folders from {{.Source}}{{with .File}} <code>{{.}}</code>{{end}}</summary>
<p>{{range $i, $c := .Classes}}{{if $i}}, {{end}}<code>{{$c.Folder}}</code> → {{$c.Label}} (images: {{$c.Images}}{{with $c.Symlink}}; a link to <code>{{.}}</code>{{end}}){{end}}.</p></details>{{end}}
{{with .R.Dataset.Skipped}}<p>Skipped {{.Count}} entries of the data folder that are not class folders or images: {{range $i, $n := .Names}}{{if $i}}, {{end}}<code>{{$n}}</code>{{end}}{{if gt .Count (len .Names)}}, …{{end}}.</p>{{end}}
{{with .R.Dataset.LinkedFiles}}<p>{{.Count}} images were read through symbolic links: {{range $i, $l := .Links}}{{if $i}}, {{end}}<code>{{$l.Path}}</code> → <code>{{$l.Target}}</code>{{end}}{{if gt .Count (len .Links)}}, …{{end}}.</p>{{end}}
{{with .R.Gate}}<h2>Gate</h2>
<table><tr><th></th><th class="l">requirement</th><th class="l">want</th><th class="l">got</th></tr>
{{range .Checks}}<tr><td class="{{if .Passed}}pass{{else}}fail{{end}}">{{if .Passed}}ok{{else}}FAIL{{end}}</td><td class="l"><code>{{.ID}}</code></td><td class="l">{{.Want}}</td><td class="l">{{.Got}}</td></tr>
{{end}}</table>{{end}}
<h2>Flags</h2>
{{if .R.Flags}}<ul>{{range .R.Flags}}<li class="flag-{{.Severity}}"><b>{{upper .Severity}}</b> <code>{{.ID}}</code>: {{.Message}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h2>Plots</h2>
<div class="plots">{{range .Plots}}{{.}}{{end}}</div>
{{if .Embedding}}<h2>Results</h2>
<p>An output task has no classes: accuracy, success, worst case and minimal eps do not apply. The cosine of clean and adversarial outputs is over every sample; 1 means the attack did not move the output's direction.</p>
<table><tr><th class="l">attack</th><th>norm</th><th>eps</th><th>samples</th><th>cos outputs mean / p5 / min</th><th>queries</th><th>L∞ max / mean</th><th>L2 mean</th>{{if $.L1}}<th>L1 mean</th>{{end}}</tr>
{{range .R.Results}}<tr><td class="l"><code>{{.AttackID}}</code></td><td>{{.Norm}}</td><td>{{with .EpsRequested}}{{.}}{{else}}{{.Eps}}{{end}}</td><td>{{.N}}</td><td>{{with .Cosine.Outputs}}{{num .Mean "%.4f"}} / {{num .P5 "%.4f"}} / {{num .Min "%.4f"}}{{else}}–{{end}}</td><td>{{num .QueriesMean "%.0f"}}</td><td>{{num .Perturbation.LinfMax "%.3g"}} / {{num .Perturbation.LinfMean "%.3g"}}</td><td>{{num .Perturbation.L2Mean "%.3g"}}</td>{{if $.L1}}<td>{{numopt .Perturbation.L1Mean "%.3g"}}</td>{{end}}</tr>
{{end}}</table>
{{else}}{{if .R.Config.Attacks}}<h2>Results</h2>
<p>Accuracy is over all samples. Success, queries, cosine, KL and the perturbation norms are over the attacked samples only: those classified correctly before the attack (with labels: pred, every sample). A dash means no sample was attacked.</p>
<table><tr><th class="l">attack</th><th>norm</th><th>eps</th><th>accuracy</th><th>95% CI</th><th>attacked</th><th>success</th><th>queries</th><th>cos logits mean / p5 / min (attacked)</th><th>cos probs mean / p5 (attacked)</th><th>KL mean / p95 (attacked)</th><th>L∞ max / mean (attacked)</th><th>L2 mean (attacked)</th>{{if $.L1}}<th>L1 mean (attacked)</th>{{end}}</tr>
{{range .R.Results}}<tr><td class="l"><code>{{.AttackID}}</code></td><td>{{.Norm}}</td><td>{{.Eps}}</td><td>{{pct .Accuracy}}</td><td>{{ci .AccuracyCI95}}</td><td>{{.NAttacked}}/{{.N}}</td><td>{{.NSuccess}} ({{pct .AttackSuccessRate}})</td><td>{{num .QueriesMean "%.0f"}}</td><td>{{num .Cosine.Logits.Mean "%.3f"}} / {{num .Cosine.Logits.P5 "%.3f"}} / {{num .Cosine.Logits.Min "%.3f"}}</td><td>{{num .Cosine.Probs.Mean "%.3f"}} / {{num .Cosine.Probs.P5 "%.3f"}}</td><td>{{num .KL.Mean "%.3g"}} / {{num .KL.P95 "%.3g"}}</td><td>{{num .Perturbation.LinfMax "%.3g"}} / {{num .Perturbation.LinfMean "%.3g"}}</td><td>{{num .Perturbation.L2Mean "%.3g"}}</td>{{if $.L1}}<td>{{numopt .Perturbation.L1Mean "%.3g"}}</td>{{end}}</tr>
{{end}}</table>
<h2>Worst case</h2>
<p>A sample counts as robust at eps only if it is classified correctly and every attack of the norm failed at that eps and at every smaller one.</p>
<table><tr><th>norm</th><th>eps</th><th>robust</th><th>accuracy</th><th>95% CI</th><th class="l">attacks</th></tr>
{{range .R.WorstCase}}<tr><td>{{.Norm}}</td><td>{{.Eps}}</td><td>{{.NRobust}}/{{.N}}</td><td>{{pct .Accuracy}}</td><td>{{ci .AccuracyCI95}}</td><td class="l">{{join .Attacks ", "}}</td></tr>
{{end}}</table>
{{if .R.Certified}}<h2>Certification</h2>
<p>The attacks give upper bounds on the robust accuracy; ibp and crown prove lower bounds for the model itself, so its robust accuracy lies in [certified, attacked] (the grey band of the plot). Randomized smoothing certifies another classifier, the smoothed g(x) = argmax<sub>c</sub> P(f(x+ε) = c) with Gaussian ε: its certified accuracy is not a bound on the model's.</p>
<ul>{{range .Intervals}}<li>{{.}}</li>{{end}}</ul>
<table><tr><th class="l">method</th><th>classifier</th><th>norm</th><th>eps</th><th>certified</th><th>accuracy</th><th>95% CI</th><th>stopped</th><th>abstained</th></tr>
{{range .R.Certified}}<tr><td class="l"><code>{{.CertifyID}}</code></td><td>{{.Classifier}}</td><td>{{.Norm}}</td><td>{{.Eps}}</td><td>{{.NCertified}}/{{.N}}</td><td>{{pct .Accuracy}}</td><td>{{ci .AccuracyCI95}}</td><td>{{.NStopped}}</td><td>{{.NAbstained}}</td></tr>
{{end}}</table>{{end}}
<table><tr><th class="l">AUC of accuracy over eps</th><th>norm</th><th>value</th></tr>
{{range .R.Summary.AUC}}<tr><td class="l"><code>{{.AttackID}}</code></td><td>{{.Norm}}</td><td>{{num .Value "%.3f"}}</td></tr>{{end}}
</table>
<table><tr><th>norm</th><th>median minimal eps</th><th>samples unbroken</th></tr>
{{range .R.Summary.MinimalEps}}<tr><td>{{.Norm}}</td><td>{{if .Median.Valid}}{{num .Median "%g"}}{{else}}&gt; largest eps{{end}}</td><td>{{.SamplesUnbroken}}</td></tr>{{end}}
</table>
{{if .R.Summary.MinNorm}}<h2>Minimal norms</h2>
<p>Each minimal-norm attack's smallest breaking perturbation per attacked sample: quartiles over the attacked samples (an unbroken sample counts as infinitely far). The robustness curve in the plots is the fraction of samples whose minimal norm exceeds eps.</p>
<table><tr><th class="l">attack</th><th>norm</th><th>broken</th><th>p25</th><th>median</th><th>p75</th></tr>
{{range .R.Summary.MinNorm}}<tr><td class="l"><code>{{.AttackID}}</code></td><td>{{.Norm}}</td><td>{{.NBroken}}/{{.NAttacked}}</td><td>{{num .P25 "%.4g"}}</td><td>{{num .Median "%.4g"}}</td><td>{{num .P75 "%.4g"}}</td></tr>
{{end}}</table>{{end}}
{{end}}{{end}}
{{with .R.Corruptions}}<h2>Corruptions</h2>
<p>Natural corruptions (Hendrycks &amp; Dietterich's common corruptions) applied to every sample, clean errors included; they have no eps and do not enter the worst case. Accuracy is over all samples with its 95% Wilson interval; the cosine is of clean and corrupted logits over all samples.</p>
<table><tr><th class="l">corruption</th><th>severity</th><th>accuracy</th><th>95% CI</th><th>correct</th><th>cos logits mean / p5 / min</th><th>cos probs mean / p5</th></tr>
{{range .Results}}<tr><td class="l"><code>{{.Corruption}}</code></td><td>{{.Severity}}</td><td>{{pct .Accuracy}}</td><td>{{ci .AccuracyCI95}}</td><td>{{.NCorrect}}/{{.N}}</td><td>{{num .Cosine.Logits.Mean "%.3f"}} / {{num .Cosine.Logits.P5 "%.3f"}} / {{num .Cosine.Logits.Min "%.3f"}}</td><td>{{num .Cosine.Probs.Mean "%.3f"}} / {{num .Cosine.Probs.P5 "%.3f"}}</td></tr>
{{end}}</table>
<table><tr><th class="l">pooled</th><th>accuracy</th><th>correct</th></tr>
{{range .ByCorruption}}<tr><td class="l"><code>{{.Corruption}}</code>, all severities</td><td>{{pct .Accuracy}}</td><td>{{.NCorrect}}/{{.N}}</td></tr>
{{end}}{{range .BySeverity}}<tr><td class="l">severity {{.Severity}}, all corruptions</td><td>{{pct .Accuracy}}</td><td>{{.NCorrect}}/{{.N}}</td></tr>
{{end}}<tr><td class="l"><b>overall</b></td><td><b>{{pct .Overall.Accuracy}}</b></td><td>{{.Overall.NCorrect}}/{{.Overall.N}}</td></tr></table>
{{with .MCE}}<p>Mean corruption error against the baseline <code>{{$.R.Config.CorruptionBaseline.ModelPath}}</code> (SHA-256 <code>{{$.R.Config.CorruptionBaseline.ModelSHA256}}</code>): CE of a corruption = its errors summed over the severities ÷ the baseline's; relative CE subtracts each model's clean error first.</p>
<table><tr><th class="l">corruption</th><th>CE</th><th>relative CE</th></tr>
{{range .Corruptions}}<tr><td class="l"><code>{{.Corruption}}</code></td><td>{{num .CE "%.3f"}}</td><td>{{num .RelativeCE "%.3f"}}</td></tr>
{{end}}<tr><td class="l"><b>mean (mCE)</b></td><td><b>{{num .MCE "%.3f"}}</b></td><td><b>{{num .RelativeMCE "%.3f"}}</b></td></tr></table>{{end}}
{{end}}
{{with .Grid}}<h2>Corruption examples</h2>
<p>Sample #{{.Index}} (label {{.LabelName}}, clean prediction {{.CleanName}}) under every corruption and severity; the prediction is under each image, red when wrong.</p>
<table class="grid"><tr><th class="l">corruption</th><th>clean</th>{{range .Severities}}<th>severity {{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td class="l"><code>{{.Corruption}}</code></td><td><img alt="clean sample {{$.Grid.Index}}" src="{{$.Grid.CleanURL}}"></td>{{range .Cells}}<td>{{if .URL}}<img alt="{{$.Grid.Index}} {{.Severity}}" src="{{.URL}}"><br><span class="{{if .Correct}}pass{{else}}fail{{end}}">{{.PredName}}</span>{{else}}–{{end}}</td>{{end}}</tr>
{{end}}</table>{{end}}
<h2>Examples</h2>
{{if .Examples}}<p>Clean input, adversarial input and the perturbation amplified to the full range, for {{(index .Examples 0).AttackID}} at eps {{(index .Examples 0).Eps}}.</p>
<div class="examples">{{range .Examples}}<div class="example{{if .Broken}} broken{{end}}">
<div><img alt="clean sample {{.Index}}" src="{{.CleanURL}}"><img alt="adversarial sample {{.Index}}" src="{{.AdvURL}}"><img alt="perturbation of sample {{.Index}}" src="{{.PertURL}}"></div>
<div>#{{.Index}} label {{.LabelName}} · clean {{.CleanName}} · adversarial <b>{{.AdvName}}</b> {{if .Broken}}<span class="fail">broken</span>{{else}}<span class="pass">robust</span>{{end}}{{if .Amplify}} · ×{{printf "%.3g" .Amplify}}{{end}}</div>
</div>{{end}}</div>{{else}}<p>No examples recorded.</p>{{end}}
<h2>Configuration</h2>
<pre>{{.ConfigJSON}}</pre>
<h2>Model</h2>
<pre>{{.ModelJSON}}</pre>
<h2>Data</h2>
<pre>{{.DataJSON}}</pre>
<h2>Provenance</h2>
<pre>{{.RunJSON}}</pre>
<p>Report schema <code>{{.R.Schema}}</code>. Verify a signed report with <code>advcheck verify REPORT.json --pub KEY.pub</code>.</p>
<script>{{.Script}}</script>
</body>
</html>
`))
