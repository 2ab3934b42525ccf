package corruption

import (
	"fmt"
	"testing"
)

// BenchmarkApply corrupts one RGB image per iteration, per corruption, at
// severity 3 and 5, at 32 px (CIFAR parameters) and 224 px (ImageNet).
func BenchmarkApply(b *testing.B) {
	for _, size := range []int{32, 224} {
		img := testImage(3, size, size, 0, 1)
		for _, name := range Names() {
			for _, sev := range []int{3, 5} {
				b.Run(fmt.Sprintf("%s/%dpx/s%d", name, size, sev), func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						if _, err := Apply(name, sev, img, 3, size, size, Config{Seed: 1}, i); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s")
				})
			}
		}
	}
}
