package attacks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/advcheck/advcheck/models"
)

// Batch is the set of samples an attack perturbs.
type Batch struct {
	X      []float32 // n samples in pixel space, Spec().Size() values each, within bounds
	Labels []int     // n labels the attack tries to move away from (truth or the model's prediction)
	Index  []int     // n global sample indices, from which randomness is derived
	// Reference, when not nil, makes the batch an output task (see
	// OutputTasker): n×K reference outputs, the clean outputs of X, whose
	// distance OutputLoss (models.OutputCosine or models.OutputMSE) the
	// attack maximises. Labels are then not used and may be nil.
	Reference  []float32
	OutputLoss models.LossKind
}

// Len returns the number of samples.
func (b Batch) Len() int {
	if b.Reference != nil {
		return len(b.Index)
	}
	return len(b.Labels)
}

// Result collects per-sample facts about a run. Attacks add to it.
type Result struct {
	Queries  []int    // model evaluations spent on each sample (forward passes, with or without gradient)
	Targets  []int    // for targeted attacks, the class each sample was pushed towards; else nil
	BrokenBy []string // for composite attacks, the stage that broke each sample ("" if none)
}

func (r *Result) addQueries(rows []int, k int) {
	if r == nil || r.Queries == nil {
		return
	}
	for _, i := range rows {
		r.Queries[i] += k
	}
}

// Attack perturbs a batch within a radius.
type Attack interface {
	// Name is the attack's family, e.g. "pgd".
	Name() string
	// ID is the canonical spec: the name and every parameter that differs
	// from its default, e.g. "pgd:restarts=5,steps=100". It identifies the
	// attack in reports and seeds its randomness.
	ID() string
	// Norm is the distance eps is measured in.
	Norm() Norm
	// Params returns every parameter with its resolved value.
	Params() map[string]any
	// Run writes into adv (same layout as b.X) a point within eps of each
	// sample (in Norm) and within the model's bounds. Samples the attack
	// cannot break get the strongest point it found.
	Run(ctx context.Context, m models.Model, b Batch, eps float64, seeds Seeds, adv []float32, res *Result) error
}

// EpsSweeper is implemented by attacks that answer several radii from one
// gradient computation (FGSM without a random start): adv[k] receives the
// result for eps[k].
type EpsSweeper interface {
	RunSweep(ctx context.Context, m models.Model, b Batch, eps []float64, seeds Seeds, adv [][]float32, res []*Result) error
}

// ErrSpec is wrapped by errors in attack specs.
var ErrSpec = errors.New("bad attack spec")

// param is one named hyperparameter bound to a field.
type param struct {
	name string
	doc  string
	ptr  any // *int, *float64, *bool, *string, *Norm, *models.LossKind
	def  string
	max  int // for an *int iteration count, its upper bound (see MaxSteps); 0 for none
}

// Upper bounds of the iteration counts a spec may ask for, checked when it
// is parsed. Each attack runs its count per sample and eps (restarts
// multiply it), so a typo such as steps=100000000000 would otherwise run
// until --timeout. The bounds lie far above published settings — AutoAttack
// uses 100 APGD iterations and 5,000 Square queries, PGD evaluations a few
// thousand steps and tens of restarts — so no real evaluation meets them.
const (
	MaxSteps    = 100_000   // steps and iters: gradient steps per run
	MaxRestarts = 1_000     // restarts: runs per sample
	MaxQueries  = 1_000_000 // queries: model evaluations per sample per run of a search attack
	MaxDraws    = 100_000   // draws: noise samples per input
	MaxEOT      = 1_000     // eot: gradients averaged per step
)

// iterationLimits bounds every integer parameter of these names, whichever
// attack has it.
var iterationLimits = map[string]int{"steps": MaxSteps, "iters": MaxSteps, "restarts": MaxRestarts, "queries": MaxQueries, "draws": MaxDraws, "eot": MaxEOT}

func (p param) value() any {
	switch v := p.ptr.(type) {
	case *int:
		return *v
	case *float64:
		return *v
	case *bool:
		return *v
	case *string:
		return *v
	case *Norm:
		return v.String()
	case *models.LossKind:
		return v.String()
	}
	return nil
}

func (p param) set(s string) error {
	switch v := p.ptr.(type) {
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%s=%q: want an integer", p.name, s)
		}
		*v = n
	case *float64:
		f, err := parseNumber(s)
		if err != nil {
			return fmt.Errorf("%s=%q: want a number", p.name, s)
		}
		*v = f
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%s=%q: want true or false", p.name, s)
		}
		*v = b
	case *string:
		*v = s
	case *Norm:
		n, err := ParseNorm(s)
		if err != nil {
			return err
		}
		*v = n
	case *models.LossKind:
		switch s {
		case "ce":
			*v = models.CrossEntropy
		case "margin", "cw":
			*v = models.Margin
		case "dlr":
			*v = models.DLR
		default:
			return fmt.Errorf("%s=%q: want ce, margin or dlr", p.name, s)
		}
	}
	return nil
}

// parseNumber reads a decimal or a fraction such as 8/255.
func parseNumber(s string) (float64, error) {
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err1 := strconv.ParseFloat(a, 64)
		y, err2 := strconv.ParseFloat(b, 64)
		// "nan/1" and "1e308/1e-308" parse, but are not numbers a step can use.
		if err1 != nil || err2 != nil || y == 0 || math.IsNaN(x/y) || math.IsInf(x/y, 0) {
			return 0, fmt.Errorf("bad fraction %q", s)
		}
		return x / y, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return f, nil
}

// base carries what every attack has: its name, parameters and their defaults.
type base struct {
	name   string
	params []param
}

func (b *base) Name() string { return b.name }

func (b *base) Params() map[string]any {
	out := map[string]any{}
	for _, p := range b.params {
		out[p.name] = p.value()
	}
	return out
}

func (b *base) ID() string {
	var parts []string
	for _, p := range b.params {
		if s := fmt.Sprint(p.value()); s != p.def {
			parts = append(parts, p.name+"="+s)
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return b.name
	}
	return b.name + ":" + strings.Join(parts, ",")
}

// bind records the parameters and their current values as defaults, and
// the upper bounds of iteration counts.
func (b *base) bind(ps ...param) {
	for i := range ps {
		ps[i].def = fmt.Sprint(param(ps[i]).value())
		if _, ok := ps[i].ptr.(*int); ok {
			ps[i].max = iterationLimits[ps[i].name]
		}
	}
	b.params = ps
}

// checkBounds refuses an iteration count over its upper bound.
func (b *base) checkBounds() error {
	for _, p := range b.params {
		if v, ok := p.ptr.(*int); ok && p.max > 0 && *v > p.max {
			return fmt.Errorf("%s=%d: at most %d", p.name, *v, p.max)
		}
	}
	return nil
}

func (b *base) apply(kv map[string]string) error {
	for k, v := range kv {
		found := false
		for _, p := range b.params {
			if p.name == k {
				if err := p.set(v); err != nil {
					return fmt.Errorf("%w: %s: %v", ErrSpec, b.name, err)
				}
				found = true
			}
		}
		if !found {
			var names []string
			for _, p := range b.params {
				names = append(names, p.name)
			}
			return fmt.Errorf("%w: %s has no parameter %q (it has %s)", ErrSpec, b.name, k, strings.Join(names, ", "))
		}
	}
	return nil
}

// Doc describes one attack for --help.
type Doc struct {
	Name    string
	Summary string
	Params  []ParamDoc
}

// ParamDoc describes one parameter. Max is the upper bound of an
// iteration count, 0 for a parameter without one.
type ParamDoc struct {
	Name, Default, Doc string
	Max                int
}

type constructor struct {
	summary string
	make    func() (Attack, *base, func() error)
}

var registry = map[string]constructor{}

func register(name, summary string, mk func() (Attack, *base, func() error)) {
	registry[name] = constructor{summary, mk}
}

// Names lists the registered attacks.
func Names() []string {
	var out []string
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Docs describes every attack and its parameters with their defaults.
func Docs() []Doc {
	var out []Doc
	for _, n := range Names() {
		c := registry[n]
		_, b, _ := c.make()
		d := Doc{Name: n, Summary: c.summary}
		for _, p := range b.params {
			d.Params = append(d.Params, ParamDoc{p.name, p.def, p.doc, p.max})
		}
		out = append(out, d)
	}
	return out
}

// Parse builds an attack from a spec: a name, optionally followed by ':' and
// comma-separated key=value parameters, e.g. "pgd:steps=100,restarts=5".
// Iteration counts over their bounds (MaxSteps, MaxRestarts, MaxQueries,
// MaxDraws) are refused.
func Parse(spec string) (Attack, error) { return parse(spec, true) }

// parse is Parse; bounded false lets the convergence check's doubled
// attack (Doubler) exceed the bounds by its factor of two.
func parse(spec string, bounded bool) (Attack, error) {
	spec = strings.TrimSpace(spec)
	name, rest, _ := strings.Cut(spec, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	c, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("%w: unknown attack %q (have %s)", ErrSpec, name, strings.Join(Names(), ", "))
	}
	kv := map[string]string{}
	if strings.TrimSpace(rest) != "" {
		for _, f := range strings.Split(rest, ",") {
			k, v, ok := strings.Cut(f, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("%w: %q: parameters are key=value", ErrSpec, f)
			}
			if _, dup := kv[k]; dup {
				return nil, fmt.Errorf("%w: %s given twice", ErrSpec, k)
			}
			kv[k] = strings.TrimSpace(v)
		}
	}
	a, b, validate := c.make()
	if err := b.apply(kv); err != nil {
		return nil, err
	}
	if err := validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSpec, name, err)
	}
	if bounded {
		if err := b.checkBounds(); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSpec, name, err)
		}
	}
	return a, nil
}

// Doubler is implemented by iterative attacks: Doubled returns the same
// attack with twice the iterations, for the convergence check.
type Doubler interface {
	Doubled() Attack
}

// withParam returns a copy of a with one parameter changed.
func withParam(a Attack, key, value string) Attack {
	params := a.Params()
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := fmt.Sprint(params[k])
		if k == key {
			v = value
		}
		parts = append(parts, k+"="+v)
	}
	b, err := parse(a.Name()+":"+strings.Join(parts, ","), false)
	if err != nil {
		panic("attacks: re-parsing an attack's own parameters: " + err.Error())
	}
	return b
}
