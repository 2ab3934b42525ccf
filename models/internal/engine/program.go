// Package engine lowers an IR graph into a Gorgonia expression graph built
// from the project's own ops (each a forward kernel plus an input-gradient
// kernel; weights are constants), compiles it for one batch size into a
// TapeMachine, and runs it. Gorgonia's own ops appear only where its symbolic
// differentiation sums the gradients of a value read by several nodes.
package engine

import (
	"errors"
	"fmt"
	"sync"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// Objective selects the loss whose input gradient a program computes.
type Objective struct {
	Loss    kernels.LossKind
	Labels  []int // true class per sample
	Targets []int // target class per sample, nil when untargeted
	// Reference holds n×classes reference outputs for the output losses
	// (kernels.OutputCosine, kernels.OutputMSE), which ignore the labels.
	Reference []float32
}

// Program runs one IR graph at one batch size: forward only, or forward and
// the gradient of an objective with respect to the input. It is not safe for
// concurrent use; make one per worker.
type Program[T Float] struct {
	n, classes int
	withGrad   bool
	plan       *plan[T]
	out        *gorgonia.Node // the logits (forward) or the input gradient
	x          []T
	logits     []T
	grad       []T
	ones       []T
	loss       *lossLayer[T]
	obj        *Objective
	graph      *gorgonia.ExprGraph
	sc         *scratch[T]
	layers     []layer[T]
	weights    int64 // elements of the constants the layers read
}

// Model holds an IR graph and its constants converted to the element type
// once: every program Build makes reads the same weights.
type Model[T Float] struct {
	g      *ir.Graph
	mu     sync.Mutex
	consts map[*ir.Value][]T
}

// NewModel returns the model of g; constants are converted when a program
// first needs them.
func NewModel[T Float](g *ir.Graph) *Model[T] {
	return &Model[T]{g: g, consts: map[*ir.Value][]T{}}
}

// constant returns v's data in the element type, converted once. A float32
// model reads float32 weights of the IR (ir.Tensor.F32) in place, without a
// copy: layers never write their constants.
func (m *Model[T]) constant(v *ir.Value) []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.consts[v]
	if !ok {
		c = constData[T](v.Const)
		m.consts[v] = c
	}
	return c
}

// constData returns t's values in the element type: t.F32 itself for a
// float32 model, else a converted copy.
func constData[T Float](t *ir.Tensor) []T {
	if t.F32 == nil {
		return toT[T](t.Data)
	}
	if f, ok := any(t.F32).([]T); ok {
		return f
	}
	out := make([]T, len(t.F32))
	for i, v := range t.F32 {
		out[i] = T(v)
	}
	return out
}

// Build lowers g for batch size n, with its own copy of the constants. See
// Model.Build.
func Build[T Float](g *ir.Graph, n int, withGrad bool) (*Program[T], error) {
	return NewModel[T](g).Build(n, withGrad)
}

// Build lowers the model's graph for batch size n. With withGrad the
// program also computes the input gradient of the objective passed to Run.
func (m *Model[T]) Build(n int, withGrad bool) (*Program[T], error) {
	return build(m, m.g, n, withGrad, parallel.Workers())
}

// build lowers g for batch size n and plans its buffers; it allocates them
// unless model is nil (a dry build, for Estimate: shapes and plan only).
func build[T Float](model *Model[T], g *ir.Graph, n int, withGrad bool, workers int) (p *Program[T], err error) {
	if n < 1 {
		return nil, fmt.Errorf("engine: batch size %d", n)
	}
	defer func() {
		// Gorgonia reports some graph errors by panicking; never let them escape.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("engine: building the graph for batch %d: %v", n, r)
		}
	}()
	dry := model == nil
	p = &Program[T]{n: n, classes: g.Classes, withGrad: withGrad, obj: &Objective{}}
	dt := dtypeOf[T]()
	eg := gorgonia.NewGraph()
	p.graph = eg
	inShape := g.Input.Shape.Concrete(n)
	xn := gorgonia.NewTensor(eg, dt, len(inShape), gorgonia.WithShape(inShape...), gorgonia.WithName("advcheck.input"))
	nodes := map[*ir.Value]*gorgonia.Node{g.Input: xn}
	sc := &scratch[T]{}
	p.sc = sc
	var ops []gorgonia.Op
	fused := fusedRelus(g)
	hasRelu := map[*ir.Node]bool{}
	for _, src := range fused {
		hasRelu[src] = true
	}
	lw := lowering[T]{model: model, sc: sc, grad: withGrad}
	for _, node := range g.Nodes {
		if src, ok := fused[node]; ok {
			nodes[node.Output] = nodes[src.Output] // computed by the layer it was fused into
			continue
		}
		fuse := hasRelu[node]
		l, err := lower[T](node, n, lw, fuse)
		if err != nil {
			return nil, fmt.Errorf("engine: node %q: %w", node.Name, err)
		}
		p.layers = append(p.layers, l)
		p.weights += constElems(node, n)
		var args gorgonia.Nodes
		var ranks []int
		for _, v := range node.Inputs {
			if v.IsConst() {
				continue
			}
			args = append(args, nodes[v])
			ranks = append(ranks, len(v.Shape))
		}
		desc := ir.Describe(node.Op)
		if fuse {
			desc += "+Relu"
		}
		op := newFwdOp[T](l, node.Name, desc, ranks, node.Output.Shape.Concrete(n))
		out, err := gorgonia.ApplyOp(op, args...)
		if err != nil {
			return nil, fmt.Errorf("engine: node %q: %w", node.Name, err)
		}
		ops = append(ops, op)
		nodes[node.Output] = out
	}
	logitsNode := nodes[g.Output]
	fixed := map[*gorgonia.Node][]T{}
	if !dry {
		p.x = make([]T, prodInts(inShape))
		p.logits = make([]T, n*g.Classes)
	}
	fixed[xn] = p.x
	p.out = logitsNode
	if withGrad {
		p.loss = &lossLayer[T]{obj: p.obj, n: n, k: g.Classes, logits: p.logits}
		if !dry {
			p.loss.loss, p.loss.g = make([]float64, n), make([]T, n*g.Classes)
		}
		p.layers = append(p.layers, p.loss)
		op := newFwdOp[T](p.loss, "advcheck.loss", "loss", []int{2}, []int{n})
		lossNode, err := gorgonia.ApplyOp(op, logitsNode)
		if err != nil {
			return nil, fmt.Errorf("engine: loss: %w", err)
		}
		ops = append(ops, op)
		p.ones = make([]T, n)
		for i := range p.ones {
			p.ones[i] = 1
		}
		seed := gorgonia.NewConstant(tensor.New(tensor.WithShape(n), tensor.WithBacking(p.ones)), gorgonia.WithName("advcheck.ones"))
		fixed[seed] = p.ones
		grads, err := gorgonia.Backpropagate(gorgonia.Nodes{lossNode}, gorgonia.Nodes{seed}, gorgonia.Nodes{xn})
		if err != nil {
			return nil, fmt.Errorf("engine: differentiating the graph: %w", err)
		}
		p.out = grads[0]
		if !dry {
			p.grad = make([]T, len(p.x))
		}
	}
	if err := checkNodes(eg, ops); err != nil {
		return nil, err
	}
	if p.plan, err = makePlan(eg, fixed, []*gorgonia.Node{p.out}); err != nil {
		return nil, err
	}
	sc.workers = workers
	if !dry {
		p.plan.allocate()
		sc.allocate()
		for _, l := range p.layers {
			if a, ok := l.(allocator); ok {
				a.allocate()
			}
		}
	}
	return p, nil
}

// fusedRelus finds ReLUs that can run inside the Conv or Dense before them:
// the ReLU is that layer's only reader and the layer's output is not the
// graph's. It maps each such ReLU node to the layer node.
func fusedRelus(g *ir.Graph) map[*ir.Node]*ir.Node {
	readers := map[*ir.Value]int{}
	for _, n := range g.Nodes {
		for _, v := range n.Inputs {
			readers[v]++
		}
	}
	out := map[*ir.Node]*ir.Node{}
	for _, n := range g.Nodes {
		u, ok := n.Op.(ir.Unary)
		if !ok || u.Func != ir.Relu {
			continue
		}
		src := n.Inputs[0].Producer
		if src == nil || readers[n.Inputs[0]] != 1 || g.Output == n.Inputs[0] {
			continue
		}
		switch src.Op.(type) {
		case ir.Conv, ir.Dense:
			out[n] = src
		}
	}
	return out
}

// checkNodes asserts that every op the lowering created is its own node in
// the graph: Gorgonia merges nodes with equal hashes, which would silently
// compute one layer with another's weights.
func checkNodes(g *gorgonia.ExprGraph, ops []gorgonia.Op) error {
	present := map[gorgonia.Op]int{}
	for _, n := range g.AllNodes() {
		present[n.Op()]++
	}
	for _, op := range ops {
		if present[op] != 1 {
			return fmt.Errorf("engine: op %v appears %d times in the graph, want once", op, present[op])
		}
	}
	return nil
}

// N returns the batch size the program was built for.
func (p *Program[T]) N() int { return p.n }

// Input returns the program's input buffer (n×...): write the batch into it
// before Run.
func (p *Program[T]) Input() []T { return p.x }

// Run executes the program on the batch in Input(). obj is needed (and used)
// only by programs built with withGrad.
func (p *Program[T]) Run(obj *Objective) error {
	if p.withGrad {
		if obj == nil || len(obj.Labels) != p.n || (obj.Targets != nil && len(obj.Targets) != p.n) {
			return errors.New("engine: objective labels do not match the batch")
		}
		if isOutputLoss(obj.Loss) && len(obj.Reference) != p.n*p.classes {
			return errors.New("engine: reference outputs do not match the batch")
		}
		*p.obj = *obj
	}
	p.plan.run()
	if p.withGrad {
		copy(p.grad, p.plan.value(p.out))
	} else {
		copy(p.logits, p.plan.value(p.out))
	}
	return nil
}

// Logits returns the logits of the last Run (n×classes); the slice is reused.
func (p *Program[T]) Logits() []T { return p.logits }

// Grad returns the input gradient of the last Run; the slice is reused.
func (p *Program[T]) Grad() []T { return p.grad }

// Loss returns the per-sample objective values of the last Run.
func (p *Program[T]) Loss() []float64 { return p.loss.loss }

// Close releases the program's buffers.
func (p *Program[T]) Close() error {
	p.plan = nil
	return nil
}

// lossLayer computes the per-sample objective from the logits; its gradient
// is scaled by the incoming per-sample gradient.
type lossLayer[T Float] struct {
	obj    *Objective
	n, k   int
	loss   []float64
	g      []T
	logits []T
}

func (l *lossLayer[T]) forward(y []T, ins [][]T) {
	copy(l.logits, ins[0])
	if isOutputLoss(l.obj.Loss) {
		kernels.OutputLoss(l.obj.Loss, ins[0], l.obj.Reference, l.n, l.k, l.loss, l.g)
	} else {
		kernels.Loss(l.obj.Loss, ins[0], l.n, l.k, l.obj.Labels, l.obj.Targets, nil, l.loss, l.g)
	}
	for i, v := range l.loss {
		y[i] = T(v)
	}
}

func (l *lossLayer[T]) backward(_ int, dx, dy []T, _ [][]T, _ []T) {
	for i := 0; i < l.n; i++ {
		s := dy[i]
		for j := 0; j < l.k; j++ {
			dx[i*l.k+j] = l.g[i*l.k+j] * s
		}
	}
}

func isOutputLoss(k kernels.LossKind) bool {
	return k == kernels.OutputCosine || k == kernels.OutputMSE
}
