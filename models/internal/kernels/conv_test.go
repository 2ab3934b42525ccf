package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convNaive is the definition: y[n,m,oh,ow] = b[m] + Σ w[m,c',kh,kw]·x[n,c,ih,iw]
// over the channels c of m's group, with ih = oh·SH − PT + kh·DH (zero outside).
func convNaive(g ConvGeom, x, w, b []float64, n int) []float64 {
	y := make([]float64, n*g.M*g.OH*g.OW)
	cg, mg := g.C/g.Group, g.M/g.Group
	for s := 0; s < n; s++ {
		for m := 0; m < g.M; m++ {
			gi := m / mg
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					v := 0.0
					if b != nil {
						v = b[m]
					}
					for c := 0; c < cg; c++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
								if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
									continue
								}
								v += w[((m*cg+c)*g.KH+kh)*g.KW+kw] * x[((s*g.C+gi*cg+c)*g.H+ih)*g.W+iw]
							}
						}
					}
					y[((s*g.M+m)*g.OH+oh)*g.OW+ow] = v
				}
			}
		}
	}
	return y
}

// geom completes g's output size from the input, kernel, strides, dilations
// and symmetric padding.
func geom(c, h, w, m, k, s, d, p, group int) ConvGeom {
	oh := (h+2*p-d*(k-1)-1)/s + 1
	ow := (w+2*p-d*(k-1)-1)/s + 1
	return ConvGeom{C: c, H: h, W: w, M: m, OH: oh, OW: ow, KH: k, KW: k, SH: s, SW: s, DH: d, DW: d, PT: p, PL: p, Group: group}
}

func randSlice(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// The forward and input-gradient kernels against the definition, untiled
// and tiled down to one output row per tile (odd sizes, stride, padding,
// dilation, groups, depthwise, 1×1 with stride), and the input gradient
// against the adjoint identity <conv(x), dy> = <x, convᵀ(dy)>.
func TestConvTiles(t *testing.T) {
	defer func(w, c, d int) { colWhole, colTile, directTile = w, c, d }(colWhole, colTile, directTile)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []ConvGeom{
		geom(3, 11, 9, 5, 3, 1, 1, 1, 1),
		geom(4, 13, 7, 6, 3, 2, 1, 1, 1),
		geom(4, 12, 12, 4, 3, 1, 2, 2, 2),
		geom(6, 9, 10, 6, 3, 1, 1, 1, 6), // depthwise
		geom(6, 9, 10, 12, 5, 2, 1, 2, 3),
		geom(5, 8, 8, 7, 1, 2, 1, 0, 1), // 1×1, stride 2
		geom(2, 7, 5, 3, 7, 1, 1, 3, 1), // kernel larger than a tile row
		// Depthwise (direct kernels): multiplier 1 and 2, stride 2, dilation,
		// padding wider than the kernel's reach, odd sizes, 5×5.
		geom(5, 9, 7, 5, 3, 2, 1, 1, 5),
		geom(4, 8, 11, 8, 3, 1, 1, 1, 4),
		geom(3, 10, 9, 3, 3, 1, 3, 4, 3),
		geom(3, 13, 12, 6, 5, 2, 1, 2, 3),
		geom(2, 3, 4, 2, 3, 3, 1, 3, 2),
		// Direct 1×1 (a GEMM on the input, tiled by 16 columns): plain and grouped.
		geom(8, 6, 7, 5, 1, 1, 1, 0, 1),
		geom(6, 5, 9, 9, 1, 1, 1, 0, 3),
	} {
		for _, tile := range []int{0, 1, 2, 5} { // 0: untiled
			colWhole, colTile, directTile = 1<<20, 1<<18, 1<<16
			if tile > 0 {
				colWhole, colTile, directTile = 0, tile*g.ColRows()*g.OW, 0
			}
			name := fmt.Sprintf("%+v/tile%d", g, tile)
			const n = 2
			x := randSlice(rng, n*g.C*g.H*g.W)
			w := randSlice(rng, g.M*g.C/g.Group*g.KH*g.KW)
			b := randSlice(rng, g.M)
			want := convNaive(g, x, w, b, n)
			y := make([]float64, len(want))
			col := make([]float64, g.ConvScratch())
			ConvForward(g, x, w, b, y, 0, n, col, false)
			for i := range y {
				if math.Abs(y[i]-want[i]) > 1e-12*(1+math.Abs(want[i])) {
					t.Fatalf("%s: y[%d] = %v, want %v", name, i, y[i], want[i])
				}
			}
			// With the fused ReLU, into a buffer holding garbage.
			y = randSlice(rng, len(y))
			ConvForward(g, x, w, b, y, 0, n, col, true)
			for i := range y {
				if r := max(want[i], 0); math.Abs(y[i]-r) > 1e-12*(1+math.Abs(r)) {
					t.Fatalf("%s, relu: y[%d] = %v, want %v", name, i, y[i], r)
				}
			}
			// Without a bias, into a buffer holding garbage.
			lin := convNaive(g, x, w, nil, n)
			y = randSlice(rng, len(y))
			ConvForward(g, x, w, nil, y, 0, n, col, false)
			for i := range y {
				if math.Abs(y[i]-lin[i]) > 1e-12*(1+math.Abs(lin[i])) {
					t.Fatalf("%s, no bias: y[%d] = %v, want %v", name, i, y[i], lin[i])
				}
			}
			// Adjoint: with no bias, <conv(x), dy> = <x, dx>.
			dy := randSlice(rng, len(y))
			dx := randSlice(rng, len(x)) // overwritten
			ConvBackwardInput(g, dy, w, dx, 0, n, col)
			var lhs, rhs float64
			for i := range lin {
				lhs += lin[i] * dy[i]
			}
			for i := range x {
				rhs += x[i] * dx[i]
			}
			if math.Abs(lhs-rhs) > 1e-9*(1+math.Abs(lhs)) {
				t.Fatalf("%s: <conv x, dy> = %v, <x, dx> = %v", name, lhs, rhs)
			}
		}
	}
}

// Tiling bounds the scratch of a large layer and leaves small ones whole.
func TestConvScratchTiled(t *testing.T) {
	vgg := geom(64, 224, 224, 64, 3, 1, 1, 1, 1)
	if s := vgg.ConvScratch(); s > colTile || s < vgg.ColRows()*vgg.OW {
		t.Errorf("224 px 3×3 conv of 64 channels: %d elements of scratch, want one tile (≤ %d)", s, colTile)
	}
	mnist := geom(32, 26, 26, 64, 3, 1, 1, 0, 1)
	if s := mnist.ConvScratch(); s != mnist.ColRows()*mnist.ColCols() {
		t.Errorf("MNIST conv: %d elements, want the whole matrix %d", s, mnist.ColRows()*mnist.ColCols())
	}
}

// A MobileNetV2 depthwise layer (144 channels, 56×56, 3×3) and a ResNet-50
// 3×3 layer (64 channels, 56×56), one sample forward and input gradient.
func BenchmarkConv(b *testing.B) {
	for _, c := range []struct {
		name string
		g    ConvGeom
	}{{"depthwise144x56", geom(144, 56, 56, 144, 3, 1, 1, 1, 144)}, {"conv64x56", geom(64, 56, 56, 64, 3, 1, 1, 1, 1)}} {
		b.Run(c.name, func(b *testing.B) {
			g := c.g
			rng := rand.New(rand.NewPCG(1, 1))
			x32 := func(n int) []float32 {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.NormFloat64())
				}
				return v
			}
			x, w, bias := x32(g.C*g.H*g.W), x32(g.M*g.C/g.Group*g.KH*g.KW), x32(g.M)
			y, dx, col := make([]float32, g.M*g.OH*g.OW), make([]float32, len(x)), make([]float32, g.ConvScratch())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ConvForward(g, x, w, bias, y, 0, 1, col, false)
				ConvBackwardInput(g, y, w, dx, 0, 1, col)
			}
		})
	}
}
