package engine

import (
	"unsafe"

	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/ir"
)

// Memory is what a compiled program holds, in bytes, by kind.
type Memory struct {
	Activations int64 // the input, the logits, the loss buffers and the planned buffers that hold layer outputs
	Gradients   int64 // the input gradient read out and the planned buffers that hold only gradients
	Weights     int64 // the constants the layers read, in the program's element type (shared by a Model's programs)
	Scratch     int64 // im2col columns, dense blocks and masked ReLU gradients: one buffer per worker
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
// holds, with workers compute workers (parallel.Workers() when 0), without
// allocating it: it lowers the graph and plans its buffers as Build does,
// and stops there. TestEstimateMatchesProgram checks it against the buffers
// of compiled programs. A graph that does not lower gives the zero Memory.
func Estimate[T Float](g *ir.Graph, n int, withGrad bool, workers int) Memory {
	if workers <= 0 {
		workers = parallel.Workers()
	}
	p, err := build[T](nil, g, n, withGrad, workers)
	if err != nil {
		return Memory{}
	}
	el := sizeOf[T]()
	m := p.plan.memory()
	in := int64(prodInts(g.Input.Shape.Concrete(n)))
	m.Activations += (in + int64(n*g.Classes)) * el // Program.x, Program.logits
	if withGrad {
		m.Gradients += in * el // Program.grad
	}
	m.Scratch = int64(p.sc.need) * int64(workers) * el
	m.Weights = p.weights * el
	for _, l := range p.layers {
		if b, ok := l.(bufferer); ok {
			m = m.Add(b.buffers(p.n))
		}
	}
	return m
}

// Check lowers g as Build does for a forward-and-gradient program of batch
// size 1, and returns the error Build would, without allocating the
// program's buffers or converting a weight.
func Check[T Float](g *ir.Graph) error {
	_, err := build[T](nil, g, 1, true, parallel.Workers())
	return err
}

// constElems counts the constants the layer of node reads at batch n (see
// lower): weights and biases of Conv, Dense and LayerNorm, constant operands
// of binary ops, MatMul and Concat.
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
			k += int64(v.Const.Len())
		}
	}
	return k
}

// bufferer is implemented by layers that hold buffers beside their output;
// buffers says how large they are at batch n, allocated or not.
type bufferer interface {
	buffers(n int) Memory
}

// Memory returns what the compiled program holds, read from its buffers:
// the counterpart of Estimate.
func (p *Program[T]) Memory() Memory {
	el := sizeOf[T]()
	var m Memory
	m.Activations += int64(len(p.x)+len(p.logits)) * el
	m.Gradients += int64(len(p.grad)) * el
	for i, b := range p.plan.slabs {
		if p.plan.act[i] {
			m.Activations += int64(len(b)) * el
		} else {
			m.Gradients += int64(len(b)) * el
		}
	}
	for _, b := range p.sc.bufs {
		m.Scratch += int64(len(b)) * el
	}
	m.Weights = p.weights * el
	for _, l := range p.layers {
		switch l := l.(type) {
		case *maxPoolLayer[T]:
			m.Other += int64(len(l.arg)) * 4
		case *avgPoolLayer[T]:
			m.Other += int64(len(l.div)) * el
		case *layerNormLayer[T]:
			m.Other += int64(len(l.mean)+len(l.inv)) * 8
		case *lossLayer[T]:
			m.Activations += int64(len(l.loss))*8 + int64(len(l.g)+len(p.ones))*el
		}
	}
	return m
}

func (l *maxPoolLayer[T]) buffers(int) Memory {
	return Memory{Other: int64(l.planes*l.g.OH*l.g.OW) * 4}
}

func (l *avgPoolLayer[T]) buffers(int) Memory { return Memory{Other: int64(len(l.div)) * sizeOf[T]()} }

func (l *lossLayer[T]) buffers(n int) Memory {
	// per-sample loss (float64), logit gradient, the ones that seed the backward pass
	return Memory{Activations: int64(n)*8 + int64(n*l.k+n)*sizeOf[T]()}
}
