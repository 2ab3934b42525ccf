package engine

import (
	"strings"
	"unsafe"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/kernels"
	"github.com/advcheck/advcheck/models/ir"
)

// Memory is what a compiled program holds, in bytes, by kind.
type Memory struct {
	Activations int64 // the input, each layer's output, the logits and the loss buffers
	Gradients   int64 // each layer's input gradient, ReLU masks and Gorgonia's gradient sums
	Weights     int64 // the layers' copies of the graph's constants, in the program's element type
	Scratch     int64 // im2col and dense blocks: one buffer per worker
	Other       int64 // max-pool argmax indices and average-pool divisors
}

// Total returns the sum of every kind.
func (m Memory) Total() int64 {
	return m.Activations + m.Gradients + m.Weights + m.Scratch + m.Other
}

// Add returns the sum of m and o, kind by kind.
func (m Memory) Add(o Memory) Memory {
	return Memory{m.Activations + o.Activations, m.Gradients + o.Gradients, m.Weights + o.Weights, m.Scratch + o.Scratch, m.Other + o.Other}
}

func sizeOf[T Float]() int64 {
	var z T
	return int64(unsafe.Sizeof(z))
}

// Estimate returns the memory a program that Build[T](g, n, withGrad) makes
// holds once it has run, computed from the IR's shapes without building it,
// with workers compute workers (parallel.Workers() when 0). It follows
// Build's allocations one for one; TestEstimateMatchesProgram checks it
// against the buffers of compiled programs.
func Estimate[T Float](g *ir.Graph, n int, withGrad bool, workers int) Memory {
	if workers <= 0 {
		workers = parallel.Workers()
	}
	el := sizeOf[T]()
	var m Memory
	elems := func(v *ir.Value) int64 { return int64(prodInts(v.Shape.Concrete(n))) }
	inputs := elems(g.Input)
	m.Activations += inputs * el // Program.x
	readers := map[*ir.Value]int{}
	fused := fusedRelus(g)
	hasRelu := map[*ir.Node]bool{}
	for _, src := range fused {
		hasRelu[src] = true
	}
	scratch := 0
	for _, node := range g.Nodes {
		if _, ok := fused[node]; ok {
			continue // computed inside the layer before it
		}
		out := elems(node.Output)
		m.Activations += out * el
		for _, v := range node.Inputs {
			if v != nil && !v.IsConst() {
				readers[v]++
				if withGrad {
					m.Gradients += elems(v) * el // the gradOp's output
				}
			}
		}
		m.Weights += constElems(node, n) * el
		switch op := node.Op.(type) {
		case ir.Conv:
			x, w, o := node.Inputs[0].Shape.Concrete(n), node.Inputs[1].Shape.Concrete(n), node.Output.Shape.Concrete(n)
			geom := kernels.ConvGeom{C: x[1], H: x[2], W: x[3], M: o[1], OH: o[2], OW: o[3], KH: w[2], KW: w[3],
				SH: op.Strides[0], SW: op.Strides[1], DH: op.Dilations[0], DW: op.Dilations[1], PT: op.Pads[0], PL: op.Pads[1], Group: op.Group}
			scratch = max(scratch, geom.ConvScratch())
		case ir.Dense:
			w := node.Inputs[1].Shape.Concrete(n)
			scratch = max(scratch, kernels.DenseScratch(w[0], w[1]))
		case ir.Pool:
			if op.Max {
				m.Other += out * 4 // int32 argmax per output
			} else {
				o := node.Output.Shape.Concrete(n)
				m.Other += int64(o[2]*o[3]) * el
			}
		case ir.GlobalAvgPool:
			m.Other += el
		case ir.LayerNorm:
			x := node.Inputs[0].Shape.Concrete(n)
			m.Other += int64(prodInts(x)/max(1, prodInts(x[op.Axis:]))) * 2 * 8 // per-row mean and inverse deviation (float64)
		}
		if withGrad && hasRelu[node] {
			m.Gradients += out * el // the fused ReLU's masked output gradient
		}
	}
	m.Scratch = int64(scratch) * int64(workers) * el
	k := int64(g.Classes)
	m.Activations += int64(n) * k * el // Program.logits
	if withGrad {
		// The loss layer: its output, per-sample loss (float64) and logit
		// gradient; the ones that seed backpropagation; the gradient of
		// the logits; and Program.grad, the input gradient read out.
		m.Activations += int64(n)*el + int64(n)*8 + int64(n)*k*el + int64(n)*el
		m.Gradients += int64(n)*k*el + inputs*el
		readers[g.Output]++
		// Gorgonia sums the gradients of a value read r times with r−1
		// additions, each a new tensor of the value's size.
		for v, r := range readers {
			if r > 1 {
				m.Gradients += int64(r-1) * elems(v) * el
			}
		}
	}
	return m
}

// constElems counts the constants the layer of node copies into its own
// element type (see lower): weights and biases of Conv and Dense, constant
// operands of binary ops, MatMul and Concat.
func constElems(node *ir.Node, n int) int64 {
	var ins []*ir.Value
	switch op := node.Op.(type) {
	case ir.Conv, ir.Dense, ir.LayerNorm:
		ins = node.Inputs[1:]
	case ir.Binary, ir.MatMul:
		ins = node.Inputs[:2]
	case ir.Concat:
		// Constants are broadcast to the output's shape (a constant
		// expanded to the batch keeps a batch axis of 1 in the IR).
		var k int64
		out := node.Output.Shape.Concrete(n)
		for _, v := range node.Inputs {
			if v.IsConst() {
				k += int64(prodInts(out) / out[op.Axis] * v.Shape[op.Axis])
			}
		}
		return k
	}
	var k int64
	for _, v := range ins {
		if v != nil && v.IsConst() {
			k += int64(len(v.Const.Data))
		}
	}
	return k
}

// bufferer is implemented by layers that hold buffers beside their output.
type bufferer interface {
	buffers() Memory
}

// Memory returns what the compiled program holds now, read from its actual
// buffers: the counterpart of Estimate. Some buffers (ReLU masks, Gorgonia's
// gradient sums) exist only after the first Run.
func (p *Program[T]) Memory() Memory {
	el := sizeOf[T]()
	var m Memory
	m.Activations += int64(len(p.x)+len(p.logits)) * el
	m.Gradients += int64(len(p.grad)) * el
	for _, b := range p.sc.bufs {
		m.Scratch += int64(len(b)) * el
	}
	for _, node := range p.graph.AllNodes() {
		if node.Name() == "advcheck.ones" { // the constant that seeds backpropagation
			m.Activations += int64(node.Shape().TotalSize()) * el
			continue
		}
		switch op := node.Op().(type) {
		case *fwdOp[T]:
			m.Activations += int64(op.out.Size()) * el
			if b, ok := op.l.(bufferer); ok {
				m = m.Add(b.buffers())
			}
		case *gradOp[T]:
			m.Gradients += int64(op.out.Size()) * el
		case nil:
			// the input, counted as p.x
		default:
			// Gorgonia's own ops (the sums of gradients) allocate their
			// values when they run; p.grad is read out by a Read op.
			if v, ok := node.Value().(*tensor.Dense); ok && !isRead(node) {
				m.Gradients += int64(v.Size()) * el
			}
		}
	}
	return m
}

// isRead reports whether node is a gorgonia.Read copying a result out
// (into a buffer counted already).
func isRead(n *gorgonia.Node) bool { return strings.HasPrefix(n.Name(), "read ") }

func (l *convLayer[T]) buffers() Memory {
	return Memory{Weights: int64(len(l.w)+len(l.b)) * sizeOf[T](), Gradients: int64(len(l.mask)) * sizeOf[T]()}
}

func (l *denseLayer[T]) buffers() Memory {
	return Memory{Weights: int64(len(l.w)+len(l.b)) * sizeOf[T](), Gradients: int64(len(l.mask)) * sizeOf[T]()}
}

func (l *maxPoolLayer[T]) buffers() Memory { return Memory{Other: int64(len(l.arg)) * 4} }
func (l *avgPoolLayer[T]) buffers() Memory { return Memory{Other: int64(len(l.div)) * sizeOf[T]()} }
func (l *binaryLayer[T]) buffers() Memory  { return l.pair.buffers() }
func (l *matmulLayer[T]) buffers() Memory  { return l.pair.buffers() }

func (p *pair[T]) buffers() Memory {
	return Memory{Weights: int64(len(p.consts[0])+len(p.consts[1])) * sizeOf[T]()}
}

func (l *concatLayer[T]) buffers() Memory {
	var k int
	for _, c := range l.consts {
		k += len(c)
	}
	return Memory{Weights: int64(k) * sizeOf[T]()}
}

func (l *lossLayer[T]) buffers() Memory {
	return Memory{Activations: int64(len(l.loss))*8 + int64(len(l.g))*sizeOf[T]()}
}
