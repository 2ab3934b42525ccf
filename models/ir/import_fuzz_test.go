package ir

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

// FuzzImport feeds arbitrary bytes through wire decoding and IR import
// (shape inference, constant folding, affine folding) and evaluates what
// imports: never a panic, and an imported graph is valid and bounded.
func FuzzImport(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/models/*.onnx")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 100_000 {
			f.Add(b)
		}
	}
	lim := onnx.DefaultLimits()
	lim.MaxBytes = 1 << 20
	lim.MaxTensorElements = 1 << 20
	lim.MaxTotalElements = 1 << 21
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := onnx.Decode(data, lim)
		if err != nil {
			return
		}
		g, err := FromONNX(m, Limits{MaxTensorElements: lim.MaxTensorElements, MaxFoldElements: lim.MaxTotalElements})
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("imported an invalid graph: %v", err)
		}
		if g.Classes < 2 || g.Input.Shape.PerSample() > MaxValueElements {
			t.Fatalf("imported graph with %d classes, input %v", g.Classes, g.Input.Shape)
		}
		// Evaluate small graphs on one zero sample: the reference must not panic either.
		if g.Input.Shape.PerSample() <= 4096 && len(g.Nodes) <= 64 {
			total := 0
			for _, n := range g.Nodes {
				shapes := make([]Shape, len(n.Inputs))
				for i, v := range n.Inputs {
					shapes[i] = v.Shape
				}
				total += foldCost(n.Op, shapes, n.Output.Shape)
			}
			if total <= 1<<20 {
				x := NewTensor(g.Input.Shape.Concrete(1)...)
				g.Eval(x)
			}
		}
	})
}
