package kernels

import "math"

// LossKind selects an attack loss; the values match models.LossKind.
type LossKind int

// Attack losses, each written so that an attack maximises it.
const (
	// CrossEntropy: untargeted logsumexp(z) − z_y; targeted z_t − logsumexp(z).
	CrossEntropy LossKind = iota
	// Margin (Carlini & Wagner): untargeted max_{j≠y} z_j − z_y; targeted z_t − max_{j≠t} z_j.
	Margin
	// DLR (Croce & Hein 2020): untargeted −(z_y − max_{j≠y} z_j)/(z_π1 − z_π3);
	// targeted −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), π sorting z in decreasing order.
	DLR
	// LogitDiff: z_t − z_y; targeted only (untargeted rows give 0).
	LogitDiff
	// OutputCosine: 1 − cos(z, r) against a reference row r (see OutputLoss).
	OutputCosine
	// OutputMSE: (1/k)·Σ_j (z_j − r_j)² against a reference row r (see OutputLoss).
	OutputMSE
)

// OutputLoss computes, for each of the n rows of outputs (n×k), the loss of
// the row against the same row of ref (kind OutputCosine or OutputMSE) into
// loss[i] and its gradient with respect to the row into grad (n×k).
// Arithmetic is float64. A cosine with a zero vector is taken as 0: loss 1,
// gradient 0.
func OutputLoss[T Float](kind LossKind, out []T, ref []float32, n, k int, loss []float64, grad []T) {
	for i := 0; i < n; i++ {
		z, r, g := out[i*k:(i+1)*k], ref[i*k:(i+1)*k], grad[i*k:(i+1)*k]
		switch kind {
		case OutputCosine:
			var zr, zz, rr float64
			for j := range z {
				a, b := float64(z[j]), float64(r[j])
				zr += a * b
				zz += a * a
				rr += b * b
			}
			if zz == 0 || rr == 0 {
				loss[i] = 1
				clear(g)
				continue
			}
			nz, nr := math.Sqrt(zz), math.Sqrt(rr)
			c := zr / (nz * nr)
			loss[i] = 1 - c
			// ∂(1 − cos)/∂z_j = −r_j/(|z||r|) + cos·z_j/|z|².
			for j := range g {
				g[j] = T(-float64(r[j])/(nz*nr) + c*float64(z[j])/zz)
			}
		case OutputMSE:
			s := 0.0
			for j := range z {
				d := float64(z[j]) - float64(r[j])
				s += d * d
				g[j] = T(2 * d / float64(k))
			}
			loss[i] = s / float64(k)
		default:
			panic("kernels: not an output loss")
		}
	}
}

// dlrEps is added to DLR's denominator, as in the reference implementation.
const dlrEps = 1e-12

// Loss computes, for each of the n rows of logits (n×k), the loss of row i
// for label labels[i] (and target targets[i] when targets is not nil) into
// loss[i], and its gradient with respect to the row into grad (n×k), scaled
// by scale[i] (nil means 1). Arithmetic is float64.
func Loss[T Float](kind LossKind, logits []T, n, k int, labels, targets []int, scale []T, loss []float64, grad []T) {
	z := make([]float64, k)
	g := make([]float64, k)
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		for j, v := range row {
			z[j] = float64(v)
			g[j] = 0
		}
		y, t := labels[i], -1
		if targets != nil {
			t = targets[i]
		}
		loss[i] = lossRow(kind, z, y, t, g)
		s := 1.0
		if scale != nil {
			s = float64(scale[i])
		}
		gr := grad[i*k : (i+1)*k]
		for j := range gr {
			gr[j] = T(g[j] * s)
		}
	}
}

// lossRow returns the loss of one row and adds its gradient into g.
func lossRow(kind LossKind, z []float64, y, t int, g []float64) float64 {
	switch kind {
	case CrossEntropy:
		m := math.Inf(-1)
		for _, v := range z {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range z {
			s += math.Exp(v - m)
		}
		lse := m + math.Log(s)
		sign, c := 1.0, y
		if t >= 0 {
			sign, c = -1, t
		}
		for j, v := range z {
			g[j] = sign * math.Exp(v-lse)
		}
		g[c] -= sign
		return sign * (lse - z[c])
	case Margin:
		if t < 0 {
			o := argmaxExcept(z, y)
			g[o], g[y] = 1, -1
			return z[o] - z[y]
		}
		o := argmaxExcept(z, t)
		g[t], g[o] = 1, -1
		return z[t] - z[o]
	case DLR:
		p1, p2, p3, p4 := top4(z)
		if t < 0 {
			o := p1
			if p1 == y {
				o = p2
			}
			u := z[y] - z[o]
			d := z[p1] - z[p3] + dlrEps
			g[y] -= 1 / d
			g[o] += 1 / d
			g[p1] += u / (d * d)
			g[p3] -= u / (d * d)
			return -u / d
		}
		u := z[y] - z[t]
		d := z[p1] - 0.5*(z[p3]+z[p4]) + dlrEps
		g[y] -= 1 / d
		g[t] += 1 / d
		g[p1] += u / (d * d)
		g[p3] -= 0.5 * u / (d * d)
		g[p4] -= 0.5 * u / (d * d)
		return -u / d
	case LogitDiff:
		if t < 0 || t == y {
			return 0
		}
		g[t], g[y] = 1, -1
		return z[t] - z[y]
	}
	panic("kernels: unknown loss")
}

func argmaxExcept(z []float64, skip int) int {
	best := -1
	for j, v := range z {
		if j != skip && (best < 0 || v > z[best]) {
			best = j
		}
	}
	return best
}

// top4 returns the indices of the four largest values (fewer classes repeat
// the last index; callers check the class count).
func top4(z []float64) (a, b, c, d int) {
	idx := [4]int{-1, -1, -1, -1}
	for j, v := range z {
		for p := 0; p < 4; p++ {
			if idx[p] < 0 || v > z[idx[p]] {
				copy(idx[p+1:], idx[p:3])
				idx[p] = j
				break
			}
		}
	}
	for p := 1; p < 4; p++ {
		if idx[p] < 0 {
			idx[p] = idx[p-1]
		}
	}
	return idx[0], idx[1], idx[2], idx[3]
}
