package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// binaryDefinition computes BinaryForward and BinaryBackward element by
// element in row-major order of the output, straight from the strides.
func binaryDefinition(op BinaryKind, bc Broadcast, a, b []float32) (y, da, db []float32) {
	total := prodInts(bc.Shape)
	y = make([]float32, total)
	da, db = make([]float32, len(a)), make([]float32, len(b))
	idx := make([]int, len(bc.Shape))
	for o := 0; o < total; o++ {
		r := o
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d] = r % bc.Shape[d]
			r /= bc.Shape[d]
		}
		ia, ib := 0, 0
		for d, i := range idx {
			ia += i * bc.AStrides[d]
			ib += i * bc.BStrides[d]
		}
		g := float32(o%7) - 3.25 // the output gradient dy[o]
		av, bv := a[ia], b[ib]
		switch op {
		case Add:
			y[o] = av + bv
			da[ia] += g
			db[ib] += g
		case Sub:
			y[o] = av - bv
			da[ia] += g
			db[ib] -= g
		case Mul:
			y[o] = av * bv
			da[ia] += g * bv
			db[ib] += g * av
		case Div:
			y[o] = av / bv
			da[ia] += g / bv
			db[ib] -= g * av / (bv * bv)
		}
	}
	return y, da, db
}

// TestBinaryBroadcastBits checks the broadcasting kernels, whose runs merge
// axes and take contiguous fast paths, against the definition bit for bit
// (sums over broadcast axes included) on random shapes and broadcasts.
func TestBinaryBroadcastBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 13))
	for trial := 0; trial < 400; trial++ {
		r := 1 + rng.IntN(4)
		out := make([]int, r)
		as, bs := make([]int, r), make([]int, r)
		for d := range out {
			out[d] = 1 + rng.IntN(5)
			as[d], bs[d] = out[d], out[d]
			if rng.IntN(3) == 0 {
				as[d] = 1
			}
			if rng.IntN(2) == 0 {
				bs[d] = 1
			}
		}
		strides := func(s []int) []int {
			st := ContiguousStrides(s)
			for d := range s {
				if s[d] == 1 {
					st[d] = 0
				}
			}
			return st
		}
		bc := Broadcast{Shape: out, AStrides: strides(as), BStrides: strides(bs)}
		a, b := make([]float32, prodInts(as)), make([]float32, prodInts(bs))
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64()) + 3
		}
		dy := make([]float32, prodInts(out))
		for o := range dy {
			dy[o] = float32(o%7) - 3.25
		}
		for _, op := range []BinaryKind{Add, Sub, Mul, Div} {
			wy, wda, wdb := binaryDefinition(op, bc, a, b)
			y, da, db := make([]float32, len(dy)), make([]float32, len(a)), make([]float32, len(b))
			BinaryForward(op, bc, a, b, y)
			BinaryBackward(op, bc, 0, a, b, dy, da)
			BinaryBackward(op, bc, 1, a, b, dy, db)
			for _, c := range []struct {
				name      string
				got, want []float32
			}{{"y", y, wy}, {"da", da, wda}, {"db", db, wdb}} {
				for i := range c.want {
					if math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
						t.Fatalf("op %d, shape %v, a %v, b %v: %s[%d] = %v, want %v", op, out, as, bs, c.name, i, c.got[i], c.want[i])
					}
				}
			}
		}
	}
}

func TestBroadcastMerged(t *testing.T) {
	// A per-channel scale of 2×3×4×5: 6 runs of 20 elements.
	bc := Broadcast{Shape: []int{2, 3, 4, 5}, AStrides: []int{60, 20, 5, 1}, BStrides: []int{3, 1, 0, 0}}
	var sh, sa, sb [maxMerged]int
	r := bc.merged(sh[:], sa[:], sb[:])
	if r != 2 || sh[0] != 6 || sh[1] != 20 || sa[0] != 20 || sa[1] != 1 || sb[0] != 1 || sb[1] != 0 {
		t.Errorf("merged = %d axes %v, a strides %v, b strides %v; want [6 20], [20 1], [1 0]", r, sh[:max(r, 0)], sa[:max(r, 0)], sb[:max(r, 0)])
	}
}
