package engine

import (
	"testing"
	"unsafe"
)

// No two values whose lifetimes overlap share a buffer: a value lives from
// the step that writes it to its last reader (or to the end of the tape
// for the program's result), and a step never writes a buffer it reads.
func TestPlanNoOverlap(t *testing.T) {
	for _, name := range []string{"art_mnist", "view_chain", "pad_avgpool", "depthwise", "mlp", "softmax_head", "nhwc", "misc_ops", "bn_unfolded", "act17"} {
		g := loadGraph(t, name)
		for _, grad := range []bool{false, true} {
			p, err := Build[float32](g, 3, grad)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pl := p.plan
			first := make([]int, len(pl.sizes))
			last := make([]int, len(pl.sizes))
			for v := range first {
				first[v], last[v] = -1, -1
			}
			for i, s := range pl.steps {
				first[s.out], last[s.out] = i, i
				for _, a := range s.args {
					if a >= 0 {
						last[a] = i
					}
				}
			}
			last[pl.ids[p.out]] = len(pl.steps)
			for a := range pl.sizes {
				for b := a + 1; b < len(pl.sizes); b++ {
					if pl.slab[a] < 0 || pl.slab[a] != pl.slab[b] {
						continue
					}
					if first[a] <= last[b] && first[b] <= last[a] {
						t.Errorf("%s grad=%v: values %d [%d, %d] and %d [%d, %d] share slab %d", name, grad, a, first[a], last[a], b, first[b], last[b], pl.slab[a])
					}
				}
				if pl.slab[a] >= 0 && len(pl.vals[a]) != pl.sizes[a] {
					t.Errorf("%s: value %d has %d elements, want %d", name, a, len(pl.vals[a]), pl.sizes[a])
				}
			}
			// Sharing happens: fewer slabs than planned values (every
			// testdata model has more than two layers).
			planned := 0
			for _, sl := range pl.slab {
				if sl >= 0 {
					planned++
				}
			}
			if len(pl.caps) >= planned {
				t.Errorf("%s grad=%v: %d slabs for %d values", name, grad, len(pl.caps), planned)
			}
		}
	}
}

// Every program of a Model reads the same weights.
func TestModelSharesWeights(t *testing.T) {
	g := loadGraph(t, "art_mnist")
	m := NewModel[float32](g)
	p1, err := m.Build(1, false)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m.Build(4, true)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, l := range p1.layers {
		c1, ok := l.(*convLayer[float32])
		if !ok {
			continue
		}
		c2 := p2.layers[i].(*convLayer[float32])
		if unsafe.SliceData(c1.w) != unsafe.SliceData(c2.w) {
			t.Errorf("layer %d: the programs hold separate copies of the weights", i)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no convolution in art_mnist")
	}
}
