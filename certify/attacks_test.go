package certify

import (
	"context"
	"os"
	"testing"

	"github.com/advcheck/advcheck/attacks"
)

const ibpModel = "../testdata/certify/mnist-ibp.onnx"

// TestCertifiedNotBroken: on the IBP-trained model (testdata/certify/
// train_ibp.py) IBP and CROWN certify most of the first images at eps 0.1,
// and APGD-CE, APGD-T and Square break none of the certified ones. (The
// 1,000-image numbers are in docs/certify.md, from TestEvalNumbers.)
func TestCertifiedNotBroken(t *testing.T) {
	if _, err := os.Stat(ibpModel); err != nil {
		t.Fatal(err)
	}
	const n, eps = 16, 0.1
	m := loadModel(t, ibpModel)
	v := NewVerifier(m.Graph())
	xs, ys := mnistSample(t, n)
	var cert []int
	for i := range xs {
		ci, err := v.Certify(context.Background(), xs[i], eps, 0, 1, IBP, ys[i])
		if err != nil {
			t.Fatal(err)
		}
		cc, err := v.Certify(context.Background(), xs[i], eps, 0, 1, CROWN, ys[i])
		if err != nil {
			t.Fatal(err)
		}
		if cc.Margin < ci.Margin {
			t.Errorf("image %d: CROWN margin %v below IBP's %v", i, cc.Margin, ci.Margin)
		}
		if cc.Certified {
			cert = append(cert, i)
		}
	}
	if len(cert) < n/2 {
		t.Fatalf("CROWN certified %d of %d images at eps %v, want at least half", len(cert), n, eps)
	}
	size := m.Spec().Size()
	b := attacks.Batch{X: make([]float32, len(cert)*size), Labels: make([]int, len(cert)), Index: cert}
	for k, i := range cert {
		for j, x := range xs[i] {
			b.X[k*size+j] = float32(x)
		}
		b.Labels[k] = ys[i]
	}
	for _, spec := range []string{"apgd-ce", "apgd-t", "square:queries=300"} {
		a, err := attacks.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		adv := make([]float32, len(b.X))
		if err := a.Run(context.Background(), m, b, eps, attacks.Seeds{Seed: 1, ID: a.ID()}, adv, nil); err != nil {
			t.Fatal(err)
		}
		logits := make([]float32, len(cert)*10)
		if err := m.Logits(context.Background(), adv, len(cert), logits); err != nil {
			t.Fatal(err)
		}
		for k, i := range cert {
			z := logits[k*10 : (k+1)*10]
			for j := range z {
				if j != ys[i] && z[j] >= z[ys[i]] {
					t.Errorf("%s broke certified image %d (class %d beats %d)", spec, i, j, ys[i])
				}
			}
		}
	}
	t.Logf("%d of %d certified by CROWN at eps %v; none broken", len(cert), n, eps)
}
