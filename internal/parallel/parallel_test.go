package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestForCoversRangeOnce(t *testing.T) {
	for _, w := range []int{1, 2, 3, 8} {
		SetWorkers(w)
		for _, n := range []int{0, 1, 2, 5, 17, 100} {
			hits := make([]int32, n)
			For(n, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("workers %d, n %d: index %d visited %d times", w, n, i, h)
				}
			}
		}
	}
	SetWorkers(0)
}

func TestForBoundsConcurrency(t *testing.T) {
	SetWorkers(2)
	defer SetWorkers(0)
	var cur, peak atomic.Int32
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			For(64, func(lo, hi int) {
				v := cur.Add(1)
				for {
					p := peak.Load()
					if v <= p || peak.CompareAndSwap(p, v) {
						break
					}
				}
				s := 0
				for i := 0; i < 200000; i++ {
					s += i
				}
				_ = s
				cur.Add(-1)
			})
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d chunks ran at once with 2 workers", p)
	}
}
