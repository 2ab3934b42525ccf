package certify

import (
	"context"
	"testing"
)

// BenchmarkCertify measures one certificate of the first MNIST test image at
// eps 0.1 per method on the zoo's adversarially trained CNN and on the
// IBP-trained CNN of testdata/certify.
func BenchmarkCertify(b *testing.B) {
	for _, model := range []struct{ name, spec string }{{"zoo-cnn-adv", "zoo:mnist-cnn-adv"}, {"mnist-ibp", ibpModel}} {
		m := loadModel(b, model.spec)
		v := NewVerifier(m.Graph())
		xs, ys := mnistSample(b, 1)
		for _, method := range []Method{IBP, CROWN} {
			b.Run(model.name+"/"+method.String(), func(b *testing.B) {
				for range b.N {
					if _, err := v.Certify(context.Background(), xs[0], 0.1, 0, 1, method, ys[0]); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}
