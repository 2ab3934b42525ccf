// Package parallel runs loops over samples on a fixed number of workers shared
// by the whole process, so that concurrent callers together never use more
// compute threads than there are workers (BLAS runs single-threaded inside them).
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	mu      sync.Mutex
	tokens  chan struct{}
	workers atomic.Int32
)

func init() { SetWorkers(0) }

// SetWorkers sets the number of compute workers; k ≤ 0 means GOMAXPROCS.
// Call it before work starts (it is not meant to change under load).
func SetWorkers(k int) {
	if k <= 0 {
		k = runtime.GOMAXPROCS(0)
	}
	mu.Lock()
	defer mu.Unlock()
	tokens = make(chan struct{}, k)
	for i := 0; i < k; i++ {
		tokens <- struct{}{}
	}
	workers.Store(int32(k))
}

// Workers returns the number of compute workers.
func Workers() int { return int(workers.Load()) }

// For calls fn(lo, hi) on contiguous chunks covering [0, n), at most Workers()
// of them at once across the process, and returns when all are done. Chunks
// are split evenly and deterministically, so results that depend only on each
// index are the same whatever the worker count. fn must not call For.
func For(n int, fn func(lo, hi int)) {
	ForChunks(n, func(_, lo, hi int) { fn(lo, hi) })
}

// ForChunks is For with the chunk number c, in [0, Workers()), passed to fn:
// callers index per-worker scratch buffers with it.
func ForChunks(n int, fn func(c, lo, hi int)) {
	if n <= 0 {
		return
	}
	mu.Lock()
	tk := tokens
	mu.Unlock()
	k := min(int(workers.Load()), n)
	if k == 1 {
		<-tk
		fn(0, 0, n)
		tk <- struct{}{}
		return
	}
	var wg sync.WaitGroup
	for c := 1; c < k; c++ {
		lo, hi := c*n/k, (c+1)*n/k
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-tk
			defer func() { tk <- struct{}{} }()
			fn(c, lo, hi)
		}()
	}
	<-tk
	fn(0, 0, n/k)
	tk <- struct{}{}
	wg.Wait()
}
