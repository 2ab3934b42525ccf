package models

import (
	"github.com/advcheck/advcheck/internal/parallel"
	"github.com/advcheck/advcheck/models/internal/engine"
)

// Memory is the memory compiled programs hold, in bytes, by kind
// (activations, gradients, weights, scratch, other); Total sums them.
type Memory = engine.Memory

// ProgramMemory returns the memory of the programs a run whose model calls
// pass at most batch samples may compile and keep, computed from the IR
// without compiling anything: for every batch-size bucket up to batch's
// (powers of two, capped by the maximum batch; see bucket) one forward and
// one forward-and-gradient program, because attacks shrink their batches as
// samples break and the cache keeps every program it built. Each program
// holds its own activations, gradients and scratch; the float32 weights are
// shared by all of them and counted once. They are the IR's own for the
// weights the file stores in float32 (read in place); the float64 constants
// the IR also holds (weights with a BatchNorm folded in) are not included.
func (m *Classifier) ProgramMemory(batch int) Memory {
	if batch < 1 {
		batch = 1
	}
	m.mu.Lock()
	top := min(batch, m.maxBatch)
	m.mu.Unlock()
	top = m.bucket(top)
	var total Memory
	workers := parallel.Workers()
	for b := 1; ; b *= 2 {
		n := min(b, top)
		total = total.Add(engine.Estimate[float32](m.graph, n, false, workers))
		total = total.Add(engine.Estimate[float32](m.graph, n, true, workers))
		if n == top {
			break
		}
	}
	total.Weights = engine.Estimate[float32](m.graph, 1, false, workers).Weights
	return total
}

// HeldMemory returns the memory of the programs the classifier has compiled
// and keeps for reuse, read from their buffers (see ProgramMemory).
func (m *Classifier) HeldMemory() Memory {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total Memory
	for _, ps := range m.free {
		for _, p := range ps {
			pm := p.Memory()
			total.Weights = pm.Weights // shared (see ProgramMemory)
			pm.Weights = 0
			total = total.Add(pm)
		}
	}
	return total
}
