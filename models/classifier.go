package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/advcheck/advcheck/internal/safeio"
	"github.com/advcheck/advcheck/models/internal/engine"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
	"github.com/advcheck/advcheck/models/onnx"
)

// Limits bound what a model file may make advcheck allocate.
type Limits = onnx.Limits

// DefaultLimits returns limits that fit a laptop.
func DefaultLimits() Limits { return onnx.DefaultLimits() }

// DefaultMaxBatch is the largest batch a Classifier runs at once.
const DefaultMaxBatch = 128

// Info describes a loaded model for reports and `advcheck inspect`.
type Info struct {
	SHA256      string         `json:"sha256"`
	Bytes       int64          `json:"bytes"`
	IRVersion   int64          `json:"ir_version"`
	Opset       int64          `json:"opset"`
	Producer    string         `json:"producer"`
	InputName   string         `json:"input_name"`
	InputShape  []int          `json:"input_shape"` // native ONNX input, -1 for the batch
	OutputName  string         `json:"output_name"`
	OutputShape []int          `json:"output_shape"` // native ONNX output, -1 for the batch
	Ops         map[string]int `json:"ops"`          // ONNX op histogram of the file
	Nodes       int            `json:"nodes"`        // IR nodes after folding
	Params      int64          `json:"params"`       // values in initializers and constants
	OutputKind  string         `json:"output_kind"`  // logits, probabilities or log_probabilities
	Notes       []string       `json:"notes,omitempty"`
}

// Classifier is an ONNX classifier lowered to Gorgonia graphs: one compiled
// program per batch size and mode, kept in a pool so concurrent callers each
// get their own. The programs share one float32 copy of the weights.
type Classifier struct {
	graph    *ir.Graph
	model    *engine.Model[float32]
	info     Info
	spec     InputSpec
	contract Contract
	maxBatch int

	mu   sync.Mutex
	free map[progKey][]*engine.Program[float32]
}

type progKey struct {
	n    int
	grad bool
}

// Open reads and loads an ONNX model file. See Decode.
func Open(path string, c Contract, lim Limits) (*Classifier, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && lim.MaxBytes > 0 && st.Size() > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the limit of %d (raise it with --max-model-bytes)", ErrBadModel, path, st.Size(), lim.MaxBytes)
	}
	// The file's size at once: io.ReadAll, growing its buffer as it reads,
	// could hold twice a large model.
	data, err := safeio.ReadAll(f, lim.MaxBytes)
	if errors.Is(err, safeio.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %s is over the limit of %d bytes (raise it with --max-model-bytes)", ErrBadModel, path, lim.MaxBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrBadModel, path, err)
	}
	m, err := Decode(data, c, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode loads an ONNX model from its bytes under contract c. Errors wrap
// ErrBadModel.
func Decode(data []byte, c Contract, lim Limits) (*Classifier, error) {
	c, err := c.Normalized()
	if err != nil {
		return nil, contractError{err}
	}
	if lim.MaxBytes > 0 && int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrBadModel, len(data), lim.MaxBytes)
	}
	om, err := onnx.Decode(data, lim)
	if err != nil {
		if errors.Is(err, onnx.ErrMalformed) {
			return nil, fmt.Errorf("%w: not a valid ONNX model (%v)", ErrBadModel, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	shaped, err := applyInputShape(om, c)
	if err != nil {
		return nil, contractError{err}
	}
	// --max-tensor-elements and the total bound every constant import folds
	// too, not only the tensors stored in the file.
	g, err := ir.FromONNX(om, ir.Limits{MaxTensorElements: lim.MaxTensorElements, MaxFoldElements: lim.MaxTotalElements})
	if errors.Is(err, ir.ErrUnsupportedOp) {
		// A valid model that needs ops advcheck lacks: say so plainly,
		// not as a bad model, though it is still bad input.
		return nil, &badModelError{err}
	}
	if err != nil && shaped {
		// The file's graph did not fix these sizes; the caller's shape is
		// what the graph cannot take (too small for its kernels, or not
		// the size a Reshape inside it assumes).
		return nil, contractError{fmt.Errorf("input_shape %s does not fit the model: %v", ShapeString(c.InputShape), err)}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	sum := sha256.Sum256(data)
	info := describe(om, g)
	info.SHA256, info.Bytes = hex.EncodeToString(sum[:]), int64(len(data))
	if shaped {
		info.Notes = append(info.Notes, fmt.Sprintf("input sizes the file leaves open fixed by input_shape %s", ShapeString(c.InputShape)))
	}
	// The file's bytes and the decoded protos (whose tensors point into
	// them) are garbage from here on. Collect them before the engine
	// converts the weights, so that the file, the protos, the IR and the
	// engine's weights are never all held at once.
	om, data = nil, nil
	runtime.GC()
	return FromGraph(g, c, info)
}

// FromGraph makes a classifier from an IR graph (for models built in code
// rather than read from ONNX) under contract c; info describes its source.
func FromGraph(g *ir.Graph, c Contract, info Info) (*Classifier, error) {
	c, err := c.Normalized()
	if err != nil {
		return nil, contractError{err}
	}
	pre := ir.Preprocessing{Scale: c.Scale, Mean: c.Mean, Std: c.Std, NHWC: c.Layout == NHWC}
	if err := g.Prepend(pre); err != nil {
		return nil, contractError{err}
	}
	if c.ClassNames != nil && len(c.ClassNames) != g.Classes {
		return nil, fmt.Errorf("%w: %d class names for a model with %d classes", ErrBadModel, len(c.ClassNames), g.Classes)
	}
	if info.OutputKind == "" {
		info.OutputKind = string(g.OutputKind)
		info.Nodes = len(g.Nodes)
	}
	m := &Classifier{graph: g, model: engine.NewModel[float32](g), info: info, contract: c, maxBatch: DefaultMaxBatch, free: map[progKey][]*engine.Program[float32]{}}
	m.spec = InputSpec{Shape: []int(g.Input.Shape[1:].Clone()), Lo: c.Lo, Hi: c.Hi, Classes: g.Classes, ClassNames: c.ClassNames}
	if c.InputShape != nil && !slices.Equal(c.InputShape, m.spec.Shape) {
		return nil, contractError{fmt.Errorf("input_shape %s, but the model's input is %s", ShapeString(c.InputShape), ShapeString(m.spec.Shape))}
	}
	// Lower the graph now, so that its errors surface at load; without
	// allocating a program or converting a weight, which a model that is
	// only inspected never needs.
	if err := engine.Check[float32](g); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	return m, nil
}

func describe(om *onnx.Model, g *ir.Graph) Info {
	info := Info{IRVersion: om.IRVersion, Producer: om.ProducerName + " " + om.ProducerVersion,
		Ops: map[string]int{}, Nodes: len(g.Nodes), OutputKind: string(g.OutputKind), Notes: g.Notes}
	info.Opset, _ = om.OpsetVersion("")
	for _, n := range om.Graph.Nodes {
		info.Ops[n.OpType]++
	}
	for _, t := range om.Graph.Initializers {
		if k, err := t.NumElements(); err == nil {
			info.Params += k
		}
	}
	for _, n := range om.Graph.Nodes {
		if n.OpType == "Constant" {
			for _, a := range n.Attrs {
				if a.T != nil {
					if k, err := a.T.NumElements(); err == nil {
						info.Params += k
					}
				}
			}
		}
	}
	shape := func(s ir.Shape) []int { return append([]int(nil), s...) }
	info.InputName, info.InputShape = g.Input.Name, shape(g.Input.Shape)
	for _, vi := range om.Graph.Inputs {
		if vi.Name == g.Input.Name {
			break
		}
	}
	if len(om.Graph.Outputs) == 1 {
		info.OutputName = om.Graph.Outputs[0].Name
	}
	info.OutputShape = shape(g.Output.Shape)
	return info
}

// Info describes the model file.
func (m *Classifier) Info() Info { return m.info }

// Contract returns the input contract the model was loaded with.
func (m *Classifier) Contract() Contract { return m.contract }

// Spec implements Model.
func (m *Classifier) Spec() InputSpec { return m.spec }

// Graph returns the model's IR (after the input contract was prepended).
func (m *Classifier) Graph() *ir.Graph { return m.graph }

// OpHistogram returns the IR op kinds sorted by name with their counts.
func (m *Classifier) OpHistogram() []string {
	count := map[string]int{}
	for _, n := range m.graph.Nodes {
		count[n.Op.Kind()]++
	}
	var out []string
	for k, v := range count {
		out = append(out, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(out)
	return out
}

// SetMaxBatch sets the largest batch run at once (default 128).
func (m *Classifier) SetMaxBatch(n int) {
	if n < 1 {
		n = 1
	}
	m.mu.Lock()
	m.maxBatch = n
	m.mu.Unlock()
}

// bucket rounds n up to the batch size of a cached program: a power of two or
// the maximum batch, so callers that shrink their batch (attacks dropping
// broken samples) reuse a handful of programs instead of compiling one per size.
func (m *Classifier) bucket(n int) int {
	b := 1
	for b < n {
		b *= 2
	}
	return min(b, m.maxBatch)
}

func (m *Classifier) program(n int, grad bool) (*engine.Program[float32], error) {
	key := progKey{n, grad}
	m.mu.Lock()
	if ps := m.free[key]; len(ps) > 0 {
		p := ps[len(ps)-1]
		m.free[key] = ps[:len(ps)-1]
		m.mu.Unlock()
		return p, nil
	}
	m.mu.Unlock()
	return m.model.Build(n, grad)
}

func (m *Classifier) release(key progKey, p *engine.Program[float32]) {
	m.mu.Lock()
	m.free[key] = append(m.free[key], p)
	m.mu.Unlock()
}

func (m *Classifier) checkBatch(x []float32, n int, out []float32, outName string) error {
	size := m.spec.Size()
	if n < 0 || len(x) != n*size {
		return fmt.Errorf("models: x has %d values, want %d samples × %d", len(x), n, size)
	}
	if out != nil && len(out) != n*m.spec.Classes {
		return fmt.Errorf("models: %s has %d values, want %d×%d", outName, len(out), n, m.spec.Classes)
	}
	return nil
}

// Logits implements Model.
func (m *Classifier) Logits(ctx context.Context, x []float32, n int, dst []float32) error {
	if err := m.checkBatch(x, n, dst, "dst"); err != nil {
		return err
	}
	if dst == nil {
		return fmt.Errorf("models: dst is nil")
	}
	return m.run(ctx, x, n, false, nil, nil, dst, nil)
}

// LossGradient implements Model.
func (m *Classifier) LossGradient(ctx context.Context, x []float32, n int, obj Objective, grad, logits []float32, loss []float64) error {
	if err := m.checkBatch(x, n, logits, "logits"); err != nil {
		return err
	}
	if len(grad) != len(x) {
		return fmt.Errorf("models: grad has %d values, want %d", len(grad), len(x))
	}
	if loss != nil && len(loss) != n {
		return fmt.Errorf("models: loss has %d values, want %d", len(loss), n)
	}
	if err := CheckObjective(obj, n, m.spec.Classes); err != nil {
		return err
	}
	return m.run(ctx, x, n, true, &obj, grad, logits, loss)
}

// run processes x in chunks of at most maxBatch samples.
func (m *Classifier) run(ctx context.Context, x []float32, n int, grad bool, obj *Objective, gradOut, logits []float32, loss []float64) error {
	size, k := m.spec.Size(), m.spec.Classes
	m.mu.Lock()
	maxBatch := m.maxBatch
	m.mu.Unlock()
	var eobj engine.Objective
	for lo := 0; lo < n; lo += maxBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+maxBatch, n)
		c := hi - lo
		b := m.bucket(c)
		p, err := m.program(b, grad)
		if err != nil {
			return err
		}
		in := p.Input()
		copy(in, x[lo*size:hi*size])
		clear(in[c*size:])
		if grad {
			eobj.Loss = kernels.LossKind(obj.Loss)
			eobj.Targets, eobj.Reference = nil, nil
			if obj.Loss.IsOutputLoss() {
				// Output losses read no labels; padded rows compare zeros.
				eobj.Labels = padInts(nil, b)
				eobj.Reference = padFloats(obj.Reference[lo*k:hi*k], b*k)
			} else {
				eobj.Labels = padInts(obj.Labels[lo:hi], b)
			}
			if obj.Targets != nil {
				eobj.Targets = padInts(obj.Targets[lo:hi], b)
			}
		}
		if err := p.Run(&eobj); err != nil {
			p.Close()
			return fmt.Errorf("models: running the model: %w", err)
		}
		if logits != nil {
			copy(logits[lo*k:hi*k], p.Logits()[:c*k])
		}
		if grad {
			copy(gradOut[lo*size:hi*size], p.Grad()[:c*size])
			if loss != nil {
				copy(loss[lo:hi], p.Loss()[:c])
			}
		}
		m.release(progKey{b, grad}, p)
	}
	return nil
}

// padInts returns v extended with zeros to length n (v itself when long enough).
func padInts(v []int, n int) []int {
	if len(v) == n {
		return v
	}
	out := make([]int, n)
	copy(out, v)
	return out
}

// padFloats returns v extended with zeros to length n (v itself when long enough).
func padFloats(v []float32, n int) []float32 {
	if len(v) == n {
		return v
	}
	out := make([]float32, n)
	copy(out, v)
	return out
}
