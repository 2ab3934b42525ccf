package gate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/advcheck/advcheck/attacks"
	"github.com/advcheck/advcheck/attacks/corruption"
	"github.com/advcheck/advcheck/models"
	"github.com/advcheck/advcheck/reports"
)

// PolicyAPIVersion is the policy format this package reads.
const PolicyAPIVersion = "advcheck/policy/v1"

// ErrPolicy is wrapped by every error in a policy file; messages carry the
// line and column. It is reports.ErrPolicy, which a gate also returns when
// a requirement cannot be applied.
var ErrPolicy = reports.ErrPolicy

// Policy is a robustness gate: what to run and what must hold.
type Policy struct {
	APIVersion string
	Model      PolicyModel
	Data       PolicyData
	Seed       uint64
	Batch      int      // 0 when not given: the sweep sizes it from its memory budget
	BatchLine  int      // the line of batch, when given
	Attacks    []string // attack specs
	// Corruptions are the natural corruptions the sweep runs (sweep
	// --attack corruption:name=NAME), at every one of Severities (nil: 1…5).
	Corruptions []string
	Severities  []int
	// Certify are the certification methods the sweep runs (sweep
	// --certify), as canonical ids.
	Certify      []string
	severityLine int
	Eps          string // an eps specification (see ParseEps); "" for the defaults
	Requirements []reports.Requirement
	// Task is "" (classification) or reports.TaskEmbedding, as sweep --task, with
	// OutputLoss (cosine or mse; "" means cosine) as sweep --output-loss.
	Task       string
	OutputLoss string
}

// PolicyModel says which model to load and how.
type PolicyModel struct {
	Path   string
	SHA256 string
	Layout string
	Bounds []float64
	Scale  float64
	Mean   []float64
	Std    []float64
	// InputShape fixes the sizes the model's input leaves open (C,H,W), as
	// sweep --input-shape does; nil for a model with fixed sizes.
	InputShape []int
}

// PolicyData says which data to attack.
type PolicyData struct {
	Spec    string
	SHA256  string // of the decoded data (the report's dataset.sha256_decoded); "" when not pinned
	Limit   int
	Labels  string
	Classes string // class list file of folder:DIR data (sweep --classes)
	// Resize and CenterCrop preprocess folder:DIR data (sweep --resize,
	// --center-crop); 0 and nil = none.
	Resize     int
	CenterCrop []int // H, W
}

// ParsePolicy reads a policy. Unknown keys, wrong types and missing fields
// are errors naming the line and column.
func ParsePolicy(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%w: larger than 1 MiB", ErrPolicy)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: the file is empty", ErrPolicy)
		}
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("%w: expected one YAML document", ErrPolicy)
	}
	// A second document would be silently ignored by a reader that stops at
	// the first; refuse it so that what is gated is all that was written.
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
		}
		return nil, posErr(&extra, "a second YAML document; a policy is one document")
	}
	p := &Policy{Data: PolicyData{Spec: "mnist-sample", Labels: "truth"}, Model: PolicyModel{Layout: "nchw", Scale: 1}}
	root := doc.Content[0]
	err = fields(root, "policy", map[string]func(*yaml.Node) error{
		"apiVersion": func(n *yaml.Node) error { return str(n, &p.APIVersion) },
		"model": func(n *yaml.Node) error {
			if n.Kind == yaml.ScalarNode {
				return str(n, &p.Model.Path)
			}
			at := map[string]*yaml.Node{} // where each input-contract key was given
			keep := func(key string, h func(*yaml.Node) error) func(*yaml.Node) error {
				return func(n *yaml.Node) error { at[key] = n; return h(n) }
			}
			err := fields(n, "model", map[string]func(*yaml.Node) error{
				"path":   func(n *yaml.Node) error { return str(n, &p.Model.Path) },
				"sha256": func(n *yaml.Node) error { return str(n, &p.Model.SHA256) },
				"layout": keep("layout", func(n *yaml.Node) error { return str(n, &p.Model.Layout) }),
				"bounds": keep("bounds", func(n *yaml.Node) error { return floats(n, &p.Model.Bounds, 2) }),
				"scale":  keep("scale", func(n *yaml.Node) error { return float(n, &p.Model.Scale) }),
				"mean":   keep("mean", func(n *yaml.Node) error { return floats(n, &p.Model.Mean, 0) }),
				"std":    keep("std", func(n *yaml.Node) error { return floats(n, &p.Model.Std, 0) }),
				"input_shape": keep("input_shape", func(n *yaml.Node) error {
					return sizes(n, &p.Model.InputShape)
				}),
			}, "path")
			if err != nil {
				return err
			}
			return p.Model.checkContract(n, at)
		},
		"data": func(n *yaml.Node) error {
			if n.Kind == yaml.ScalarNode {
				return str(n, &p.Data.Spec)
			}
			return fields(n, "data", map[string]func(*yaml.Node) error{
				"spec": func(n *yaml.Node) error { return str(n, &p.Data.Spec) },
				"sha256": func(n *yaml.Node) error {
					if err := str(n, &p.Data.SHA256); err != nil {
						return err
					}
					p.Data.SHA256 = strings.ToLower(p.Data.SHA256)
					if _, err := hex.DecodeString(p.Data.SHA256); err != nil || len(p.Data.SHA256) != 64 {
						return posErr(n, "data.sha256 %q: want 64 hex digits", n.Value)
					}
					return nil
				},
				"limit":   func(n *yaml.Node) error { return integer(n, &p.Data.Limit, 0) },
				"labels":  func(n *yaml.Node) error { return enum(n, &p.Data.Labels, "truth", "pred") },
				"classes": func(n *yaml.Node) error { return str(n, &p.Data.Classes) },
				"resize":  func(n *yaml.Node) error { return integer(n, &p.Data.Resize, 1) },
				"center_crop": func(n *yaml.Node) error {
					return cropSize(n, &p.Data.CenterCrop)
				},
			})
		},
		"seed": func(n *yaml.Node) error {
			var v int
			if err := integer(n, &v, 0); err != nil {
				return err
			}
			p.Seed = uint64(v)
			return nil
		},
		"batch": func(n *yaml.Node) error { p.BatchLine = n.Line; return integer(n, &p.Batch, 1) },
		"task": func(n *yaml.Node) error {
			if err := enum(n, &p.Task, reports.TaskClassification, reports.TaskEmbedding); err != nil {
				return err
			}
			if p.Task == reports.TaskClassification {
				p.Task = ""
			}
			return nil
		},
		"output_loss": func(n *yaml.Node) error { return enum(n, &p.OutputLoss, "cosine", "mse") },
		"attacks":     func(n *yaml.Node) error { return p.parseAttacks(n) },
		"corruptions": func(n *yaml.Node) error { return p.parseCorruptions(n) },
		"certify":     func(n *yaml.Node) error { return p.parseCertify(n) },
		"severity": func(n *yaml.Node) error {
			var s string
			switch n.Kind {
			case yaml.ScalarNode:
				s = n.Value
			case yaml.SequenceNode:
				var items []string
				for _, c := range n.Content {
					if c.Kind != yaml.ScalarNode {
						return posErr(c, "a severity is a level 1 to 5")
					}
					items = append(items, c.Value)
				}
				s = strings.Join(items, ",")
			default:
				return posErr(n, "severity is a list of levels or a range \"1:5\"")
			}
			sev, err := reports.ParseSeverity(s)
			if err != nil {
				return posErr(n, "%v", err)
			}
			p.Severities, p.severityLine = sev, n.Line
			return nil
		},
		"eps":          func(n *yaml.Node) error { return p.parseEps(n) },
		"requirements": func(n *yaml.Node) error { return p.parseRequirements(n) },
	}, "apiVersion", "model", "requirements")
	if err != nil {
		return nil, err
	}
	if len(p.Attacks) == 0 && len(p.Corruptions) == 0 {
		return nil, posErr(root, "the policy needs attacks, corruptions or both")
	}
	if len(p.Corruptions) == 0 && p.severityLine > 0 {
		return nil, fmt.Errorf("%w: line %d: severity is for corruptions", ErrPolicy, p.severityLine)
	}
	if len(p.Corruptions) > 0 && p.Severities == nil {
		p.Severities = []int{1, 2, 3, 4, 5}
	}
	if len(p.Corruptions) > 0 && p.Task == reports.TaskEmbedding {
		return nil, posErr(root, "corruptions need classes; a policy of task: embedding cannot run them")
	}
	if err := p.checkCertified(); err != nil {
		return nil, err
	}
	for _, q := range p.Requirements {
		if q.Kind != "min_corruption_accuracy" {
			continue
		}
		if len(p.Corruptions) == 0 {
			return nil, fmt.Errorf("%w: line %d: min_corruption_accuracy needs corruptions in the policy", ErrPolicy, q.Line)
		}
		if q.Corruption != "" && !slices.Contains(p.Corruptions, q.Corruption) {
			return nil, fmt.Errorf("%w: line %d: corruption %s is not among the policy's corruptions (%s)", ErrPolicy, q.Line, q.Corruption, strings.Join(p.Corruptions, ", "))
		}
		if q.Severity > 0 && !slices.Contains(p.Severities, q.Severity) {
			return nil, fmt.Errorf("%w: line %d: severity %d is not among the policy's severities", ErrPolicy, q.Line, q.Severity)
		}
	}
	if p.APIVersion != PolicyAPIVersion {
		return nil, posErr(root, "apiVersion %q: want %q", p.APIVersion, PolicyAPIVersion)
	}
	if p.OutputLoss != "" && p.Task != reports.TaskEmbedding {
		return nil, posErr(root, "output_loss is for task: embedding")
	}
	if p.Task == reports.TaskEmbedding && p.OutputLoss == "" {
		p.OutputLoss = "cosine"
	}
	if p.Task == reports.TaskEmbedding {
		for _, q := range p.Requirements {
			if q.Kind != "min_cosine" && q.Kind != "max_flags" {
				return nil, fmt.Errorf("%w: line %d: %s needs classes; a policy of task: embedding takes min_cosine and max_flags", ErrPolicy, q.Line, q.Kind)
			}
		}
	}
	return p, nil
}

// Contract is the input contract the policy's sweep loads the model under:
// the policy's values, and those of the sweep flags' defaults where it is
// silent (layout nchw, bounds [0, 1], scale 1).
func (m PolicyModel) Contract() models.Contract {
	c := models.Contract{Layout: models.Layout(strings.ToLower(m.Layout)), Lo: 0, Hi: 1, Scale: m.Scale, Mean: m.Mean, Std: m.Std, InputShape: m.InputShape}
	if len(m.Bounds) == 2 {
		c.Lo, c.Hi = m.Bounds[0], m.Bounds[1]
	}
	return c
}

// checkContract refuses input-contract values no model can take, as the
// sweep flags do (models.CheckContract), at the key that gives the value
// (at maps keys to nodes; n is the model mapping). A zero scale or empty
// bounds are mistakes, never the defaults.
func (m PolicyModel) checkContract(n *yaml.Node, at map[string]*yaml.Node) error {
	err := models.CheckContract(m.Contract())
	if err == nil {
		return nil
	}
	var ce *models.ContractValueError
	if !errors.As(err, &ce) {
		return posErr(n, "%v", err)
	}
	if k, ok := at[ce.Field]; ok {
		n = k
	}
	return posErr(n, "model.%s %s: %s", ce.Field, ce.Value, ce.Reason)
}

func posErr(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%w: line %d, column %d: %s", ErrPolicy, n.Line, n.Column, fmt.Sprintf(format, args...))
}

// fields decodes a mapping, refusing unknown and repeated keys and
// requiring the listed ones.
func fields(n *yaml.Node, what string, handlers map[string]func(*yaml.Node) error, required ...string) error {
	if n.Kind != yaml.MappingNode {
		return posErr(n, "%s must be a mapping", what)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		h, ok := handlers[k.Value]
		if !ok {
			var names []string
			for name := range handlers {
				names = append(names, name)
			}
			sort.Strings(names)
			return posErr(k, "unknown key %q in %s (known: %s)", k.Value, what, strings.Join(names, ", "))
		}
		if seen[k.Value] {
			return posErr(k, "%s.%s is given twice", what, k.Value)
		}
		seen[k.Value] = true
		if err := h(v); err != nil {
			return err
		}
	}
	for _, r := range required {
		if !seen[r] {
			return posErr(n, "%s needs %q", what, r)
		}
	}
	return nil
}

func str(n *yaml.Node, dst *string) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float") {
		return posErr(n, "want a string, got %s", kindOf(n))
	}
	*dst = n.Value
	return nil
}

func enum(n *yaml.Node, dst *string, allowed ...string) error {
	if err := str(n, dst); err != nil {
		return err
	}
	for _, a := range allowed {
		if *dst == a {
			return nil
		}
	}
	return posErr(n, "%q: want one of %s", *dst, strings.Join(allowed, ", "))
}

func float(n *yaml.Node, dst *float64) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!str") {
		return posErr(n, "want a number, got %s", kindOf(n))
	}
	v, err := reports.ParseNumber(n.Value)
	if err != nil {
		return posErr(n, "want a number, got %q", n.Value)
	}
	*dst = v
	return nil
}

func integer(n *yaml.Node, dst *int, min int) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return posErr(n, "want an integer, got %s", kindOf(n))
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil || v < min {
		return posErr(n, "want an integer ≥ %d, got %q", min, n.Value)
	}
	*dst = v
	return nil
}

// cropSize reads a centre crop: one size (a square) or a list [H, W].
func cropSize(n *yaml.Node, dst *[]int) error {
	var v int
	if n.Kind == yaml.ScalarNode {
		if err := integer(n, &v, 1); err != nil {
			return err
		}
		*dst = []int{v, v}
		return nil
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) != 2 {
		return posErr(n, "want a size or a list [H, W], got %s", kindOf(n))
	}
	var hw []int
	for _, c := range n.Content {
		if err := integer(c, &v, 1); err != nil {
			return err
		}
		hw = append(hw, v)
	}
	*dst = hw
	return nil
}

// sizes reads a non-empty list of sizes ≥ 1, e.g. an input shape [3, 224, 224].
func sizes(n *yaml.Node, dst *[]int) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(n, "want a list of sizes, e.g. [3, 224, 224], got %s", kindOf(n))
	}
	out := make([]int, len(n.Content))
	for i, c := range n.Content {
		if err := integer(c, &out[i], 1); err != nil {
			return err
		}
	}
	*dst = out
	return nil
}

func floats(n *yaml.Node, dst *[]float64, want int) error {
	if n.Kind != yaml.SequenceNode {
		return posErr(n, "want a list of numbers, got %s", kindOf(n))
	}
	var out []float64
	for _, c := range n.Content {
		var v float64
		if err := float(c, &v); err != nil {
			return err
		}
		out = append(out, v)
	}
	if want > 0 && len(out) != want {
		return posErr(n, "want %d numbers, got %d", want, len(out))
	}
	*dst = out
	return nil
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.Tag {
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "nothing"
	case "!!int", "!!float":
		return "a number"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (p *Policy) parseAttacks(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(n, "attacks must be a non-empty list")
	}
	ids := map[string]int{}
	for _, c := range n.Content {
		var spec string
		switch c.Kind {
		case yaml.ScalarNode:
			if err := str(c, &spec); err != nil {
				return err
			}
			// One attack per item: a second ':' would let the sweep's
			// comma-splitting read a parameter as another attack.
			if _, rest, _ := strings.Cut(spec, ":"); strings.Contains(rest, ":") {
				return posErr(c, "attack %q: ':' separates the name from the parameters and appears once", spec)
			}
		case yaml.MappingNode:
			var err error
			if spec, err = attackMapping(c); err != nil {
				return err
			}
		default:
			return posErr(c, "an attack is a spec string or a mapping with name and params")
		}
		a, err := attacks.Parse(spec)
		if err != nil {
			return posErr(c, "%v", err)
		}
		if line, dup := ids[a.ID()]; dup {
			return posErr(c, "attack %s is given twice (first on line %d)", a.ID(), line)
		}
		ids[a.ID()] = c.Line
		p.Attacks = append(p.Attacks, spec)
	}
	return nil
}

// attackMapping turns {name: N, params: {k: v, ...}} into the spec
// "N:k=v,...". Names, keys and values are single tokens of the spec grammar,
// so that no value can smuggle in another parameter ("1,restarts=1") and
// every key is given once.
func attackMapping(c *yaml.Node) (string, error) {
	var name string
	params := map[string]string{}
	err := fields(c, "attack", map[string]func(*yaml.Node) error{
		"name": func(n *yaml.Node) error {
			if err := str(n, &name); err != nil {
				return err
			}
			return specToken(n, "attack name", name)
		},
		"params": func(n *yaml.Node) error {
			if n.Kind != yaml.MappingNode {
				return posErr(n, "params must be a mapping")
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind != yaml.ScalarNode {
					return posErr(k, "a parameter name must be a string, got %s", kindOf(k))
				}
				if err := specToken(k, "parameter name", k.Value); err != nil {
					return err
				}
				if _, dup := params[k.Value]; dup {
					return posErr(k, "parameter %s is given twice", k.Value)
				}
				if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
					return posErr(v, "parameter %s must be a number, a word or a boolean, got %s", k.Value, kindOf(v))
				}
				if err := specToken(v, "parameter "+k.Value, v.Value); err != nil {
					return err
				}
				params[k.Value] = v.Value
			}
			return nil
		},
	}, "name")
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	spec := name
	for i, k := range keys {
		sep := ","
		if i == 0 {
			sep = ":"
		}
		spec += sep + k + "=" + params[k]
	}
	return spec, nil
}

// specToken refuses text that would change the structure of an attack spec.
func specToken(n *yaml.Node, what, s string) error {
	if s == "" {
		return posErr(n, "%s is empty", what)
	}
	if i := strings.IndexAny(s, ",=: \t\n"); i >= 0 {
		return posErr(n, "%s %q holds %q, which separates parts of an attack spec", what, s, s[i:i+1])
	}
	return nil
}

func (p *Policy) parseEps(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if err := str(n, &p.Eps); err != nil {
			return err
		}
	case yaml.SequenceNode:
		list, err := epsItems(n)
		if err != nil {
			return err
		}
		p.Eps = list
	case yaml.MappingNode:
		var parts []string
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "linf" && k.Value != "l2" && k.Value != "l1" {
				return posErr(k, "eps norm %q: want linf, l2 or l1", k.Value)
			}
			if seen[k.Value] {
				return posErr(k, "eps.%s is given twice", k.Value)
			}
			seen[k.Value] = true
			var list string
			switch v.Kind {
			case yaml.ScalarNode:
				if err := epsItem(v); err != nil {
					return err
				}
				list = v.Value
			case yaml.SequenceNode:
				var err error
				if list, err = epsItems(v); err != nil {
					return err
				}
			default:
				return posErr(v, "eps.%s must be a list", k.Value)
			}
			parts = append(parts, k.Value+"="+list)
		}
		p.Eps = strings.Join(parts, " ")
	default:
		return posErr(n, "eps must be a list, a string or a mapping by norm")
	}
	if _, err := reports.ParseEps(p.Eps); err != nil {
		return posErr(n, "%v", err)
	}
	return nil
}

// epsItems joins a YAML list of radii into an eps list.
func epsItems(n *yaml.Node) (string, error) {
	var parts []string
	for _, c := range n.Content {
		if err := epsItem(c); err != nil {
			return "", err
		}
		parts = append(parts, c.Value)
	}
	return strings.Join(parts, ","), nil
}

// epsItem checks that a list item is one radius or one range, not text that
// would add items or norms once joined.
func epsItem(c *yaml.Node) error {
	if c.Kind != yaml.ScalarNode || (c.Tag != "!!int" && c.Tag != "!!float" && c.Tag != "!!str") {
		return posErr(c, "eps values are numbers, fractions or ranges, got %s", kindOf(c))
	}
	if i := strings.IndexAny(c.Value, ",= \t\n"); i >= 0 {
		return posErr(c, "eps value %q holds %q; give one value per list item", c.Value, c.Value[i:i+1])
	}
	return nil
}

var requirementKinds = []string{"min_accuracy", "min_cosine", "max_kl", "min_clean_accuracy", "max_flags", "no_regression", "min_median_min_norm", "min_corruption_accuracy", "min_certified_accuracy"}

func (p *Policy) parseRequirements(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(n, "requirements must be a non-empty list")
	}
	for _, c := range n.Content {
		if c.Kind != yaml.MappingNode {
			return posErr(c, "a requirement is a mapping, e.g. {min_accuracy: 0.8, attack: pgd, eps: 0.3}")
		}
		req := reports.Requirement{Line: c.Line}
		var kindNode *yaml.Node
		handlers := map[string]func(*yaml.Node) error{
			"attack":     func(n *yaml.Node) error { return str(n, &req.Attack) },
			"worst_case": func(n *yaml.Node) error { return enum(n, &req.WorstCase, "linf", "l2", "l1") },
			"eps": func(n *yaml.Node) error {
				req.HasEps = true
				return float(n, &req.Eps)
			},
			"use": func(n *yaml.Node) error { return enum(n, &req.Use, "point", "lower_ci", "mean", "p5", "p95") },
			"corruption": func(n *yaml.Node) error {
				if err := str(n, &req.Corruption); err != nil {
					return err
				}
				if err := corruption.Check(req.Corruption, reports.MinSeverity); err != nil {
					return posErr(n, "%v", err)
				}
				return nil
			},
			"severity": func(n *yaml.Node) error { return integer(n, &req.Severity, reports.MinSeverity) },
			"certify":  func(n *yaml.Node) error { return str(n, &req.Certify) },
		}
		for _, k := range requirementKinds {
			k := k
			handlers[k] = func(n *yaml.Node) error {
				if kindNode != nil {
					return posErr(n, "a requirement has one kind; %s and %s are both given", req.Kind, k)
				}
				kindNode, req.Kind = n, k
				switch k {
				case "max_flags":
					req.Flags = map[string]int{}
					return fields(n, "max_flags", map[string]func(*yaml.Node) error{
						"info":    func(n *yaml.Node) error { v := 0; err := integer(n, &v, 0); req.Flags["info"] = v; return err },
						"warning": func(n *yaml.Node) error { v := 0; err := integer(n, &v, 0); req.Flags["warning"] = v; return err },
						"error":   func(n *yaml.Node) error { v := 0; err := integer(n, &v, 0); req.Flags["error"] = v; return err },
					})
				case "no_regression":
					req.Threshold = 0.05
					return fields(n, "no_regression", map[string]func(*yaml.Node) error{
						"attack":     func(n *yaml.Node) error { return str(n, &req.Attack) },
						"worst_case": func(n *yaml.Node) error { return enum(n, &req.WorstCase, "linf", "l2", "l1") },
						"eps":        func(n *yaml.Node) error { req.HasEps = true; return float(n, &req.Eps) },
						"alpha":      func(n *yaml.Node) error { return float(n, &req.Threshold) },
					}, "eps")
				}
				return float(n, &req.Threshold)
			}
		}
		if err := fields(c, "requirement", handlers); err != nil {
			return err
		}
		if kindNode == nil {
			return posErr(c, "a requirement needs one of %s", strings.Join(requirementKinds, ", "))
		}
		if err := validate(&req, c); err != nil {
			return err
		}
		p.Requirements = append(p.Requirements, req)
	}
	return nil
}

func validate(r *reports.Requirement, n *yaml.Node) error {
	needsTarget := r.Kind == "min_accuracy" || r.Kind == "min_cosine" || r.Kind == "max_kl" || r.Kind == "no_regression"
	if r.Kind != "min_certified_accuracy" && r.Certify != "" {
		return posErr(n, "%s takes no certify", r.Kind)
	}
	if r.Kind == "min_certified_accuracy" {
		if (r.Certify == "") == (r.WorstCase == "") || r.Attack != "" || !r.HasEps {
			return posErr(n, "%s needs eps and exactly one of certify (a method of the policy's certify) or worst_case (the union of ibp and crown)", r.Kind)
		}
	} else if needsTarget {
		if (r.Attack == "") == (r.WorstCase == "") {
			return posErr(n, "%s needs exactly one of attack or worst_case", r.Kind)
		}
		if !r.HasEps {
			return posErr(n, "%s needs eps", r.Kind)
		}
		if r.WorstCase != "" && (r.Kind == "min_cosine" || r.Kind == "max_kl") {
			return posErr(n, "%s applies to an attack, not to the worst case", r.Kind)
		}
	} else if r.Kind == "min_median_min_norm" {
		if r.Attack == "" || r.WorstCase != "" || r.HasEps {
			return posErr(n, "%s needs an attack (a minimal-norm one) and takes no worst_case or eps", r.Kind)
		}
	} else if r.Attack != "" || r.WorstCase != "" || r.HasEps {
		return posErr(n, "%s takes no attack, worst_case or eps", r.Kind)
	}
	if r.Kind != "min_corruption_accuracy" && (r.Corruption != "" || r.Severity != 0) {
		return posErr(n, "%s takes no corruption or severity", r.Kind)
	}
	if r.Severity > reports.MaxSeverity {
		return posErr(n, "severity %d: want %d to %d", r.Severity, reports.MinSeverity, reports.MaxSeverity)
	}
	if r.Kind == "min_corruption_accuracy" && r.Use == "lower_ci" && (r.Corruption == "" || r.Severity == 0) {
		return posErr(n, "min_corruption_accuracy with use: lower_ci needs a corruption and a severity: pooled accuracies have no interval")
	}
	allowed := map[string][]string{
		"min_accuracy": {"", "point", "lower_ci"}, "min_clean_accuracy": {"", "point", "lower_ci"},
		"min_cosine": {"", "mean", "p5"}, "max_kl": {"", "mean", "p95"}, "max_flags": {""}, "no_regression": {""}, "min_median_min_norm": {""},
		"min_corruption_accuracy": {"", "point", "lower_ci"},
		"min_certified_accuracy":  {"", "point", "lower_ci"},
	}
	ok := false
	for _, a := range allowed[r.Kind] {
		ok = ok || a == r.Use
	}
	if !ok {
		return posErr(n, "%s does not take use: %s", r.Kind, r.Use)
	}
	if r.Use == "" {
		r.Use = map[string]string{"min_accuracy": "point", "min_clean_accuracy": "point", "min_cosine": "mean", "max_kl": "mean", "min_corruption_accuracy": "point", "min_certified_accuracy": "point"}[r.Kind]
	}
	if r.Kind == "min_median_min_norm" && !(r.Threshold >= 0 && !math.IsInf(r.Threshold, 1)) {
		return posErr(n, "%s %v: want a norm ≥ 0", r.Kind, r.Threshold)
	}
	if r.Kind != "max_flags" && r.Kind != "min_cosine" && r.Kind != "min_median_min_norm" && (math.IsNaN(r.Threshold) || r.Threshold < 0 || (r.Kind != "max_kl" && r.Threshold > 1)) {
		return posErr(n, "%s %v is out of range", r.Kind, r.Threshold)
	}
	if r.Kind == "min_cosine" && !(r.Threshold >= -1 && r.Threshold <= 1) {
		return posErr(n, "min_cosine %v: want a value in [-1, 1]", r.Threshold)
	}
	return nil
}

// Apply checks every requirement of p against r (and baseline, for
// no_regression requirements) and records the verdict in r.Gate (see
// reports.Report.ApplyRequirements, which Decode also uses to re-derive a
// stored verdict).
func Apply(r *reports.Report, p *Policy, baseline *reports.Report) error {
	return r.ApplyRequirements(p.Requirements, baseline)
}

func epsEqual(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func fmtEps(e float64) string { return strconv.FormatFloat(e, 'g', -1, 64) }

// parseCorruptions reads corruptions: "all" (every corruption advcheck
// implements, as sweep --attack corruptions) or a list of names.
func (p *Policy) parseCorruptions(n *yaml.Node) error {
	var names []string
	switch {
	case n.Kind == yaml.ScalarNode && n.Value == "all":
		names = corruption.Names()
	case n.Kind == yaml.SequenceNode && len(n.Content) > 0:
		seen := map[string]int{}
		for _, c := range n.Content {
			var name string
			if err := str(c, &name); err != nil {
				return err
			}
			if err := corruption.Check(name, reports.MinSeverity); err != nil {
				return posErr(c, "%v", err)
			}
			if line, dup := seen[name]; dup {
				return posErr(c, "corruption %s is given twice (first on line %d)", name, line)
			}
			seen[name] = c.Line
			names = append(names, name)
		}
	default:
		return posErr(n, "corruptions is all or a non-empty list of names (%s)", strings.Join(corruption.Names(), ", "))
	}
	p.Corruptions = names
	return nil
}

// parseCertify reads certify: a list of certification methods, as sweep
// --certify takes them (ibp, crown, smoothing:sigma=0.25,n=10000), one per item.
func (p *Policy) parseCertify(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		return posErr(n, "certify must be a non-empty list of methods (ibp, crown, smoothing[:sigma=S,n0=N0,n=N,alpha=A])")
	}
	lines := map[string]int{}
	for _, c := range n.Content {
		var spec string
		if err := str(c, &spec); err != nil {
			return err
		}
		if _, rest, _ := strings.Cut(spec, ":"); strings.Contains(rest, ":") {
			return posErr(c, "certify %q: ':' separates the method from the parameters and appears once", spec)
		}
		cs, err := reports.ParseCertify(spec)
		if err != nil {
			return posErr(c, "certify %q: %v", spec, err)
		}
		if line, dup := lines[cs.ID()]; dup {
			return posErr(c, "certification %s is given twice (first on line %d)", cs.ID(), line)
		}
		lines[cs.ID()] = c.Line
		p.Certify = append(p.Certify, cs.ID())
	}
	return nil
}

// checkCertified checks the min_certified_accuracy requirements against the
// policy's certify list: a named method is one of them, and a worst-case
// one has a method certifying the model in that norm (ibp, crown: linf).
func (p *Policy) checkCertified() error {
	if len(p.Certify) > 0 && p.Task == reports.TaskEmbedding {
		return fmt.Errorf("%w: certify needs classes; a policy of task: embedding cannot run it", ErrPolicy)
	}
	for _, q := range p.Requirements {
		if q.Kind != "min_certified_accuracy" {
			continue
		}
		found := false
		for _, id := range p.Certify {
			cs, _ := reports.ParseCertify(id)
			if q.Certify != "" {
				found = found || id == q.Certify || cs.Method == q.Certify
			} else {
				found = found || (cs.Classifier() == reports.ClassifierModel && cs.Norm().String() == q.WorstCase)
			}
		}
		if !found {
			if q.Certify != "" {
				return fmt.Errorf("%w: line %d: certification %s is not among the policy's certify (%s)", ErrPolicy, q.Line, q.Certify, strings.Join(p.Certify, ", "))
			}
			return fmt.Errorf("%w: line %d: min_certified_accuracy with worst_case %s needs ibp or crown in the policy's certify", ErrPolicy, q.Line, q.WorstCase)
		}
	}
	return nil
}
