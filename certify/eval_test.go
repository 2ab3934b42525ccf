package certify

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	evalModel  = flag.String("certify.model", "", "TestEvalNumbers: model to certify (zoo:NAME or a path); empty skips the test")
	evalN      = flag.Int("certify.n", 1000, "TestEvalNumbers: first N embedded MNIST test images")
	evalEps    = flag.String("certify.eps", "0.1", "TestEvalNumbers: comma-separated L∞ radii")
	evalMethod = flag.String("certify.methods", "ibp,crown", "TestEvalNumbers: comma-separated methods")
)

// TestEvalNumbers prints certified accuracy and time per sample: the numbers
// of docs/certify.md. It runs only when -certify.model is given, e.g.
//
//	go test -tags 'openblas libjpeg' ./certify -run TestEvalNumbers -v -timeout 0 \
//	    -certify.model ../testdata/certify/mnist-ibp.onnx -certify.n 1000 -certify.eps 0.1
func TestEvalNumbers(t *testing.T) {
	if *evalModel == "" {
		t.Skip("no -certify.model")
	}
	m := loadModel(t, *evalModel)
	v := NewVerifier(m.Graph())
	xs, ys := mnistSample(t, *evalN)
	for _, es := range strings.Split(*evalEps, ",") {
		eps, err := strconv.ParseFloat(es, 64)
		if err != nil {
			t.Fatal(err)
		}
		for _, ms := range strings.Split(*evalMethod, ",") {
			method, err := ParseMethod(ms)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			certified := make([]bool, len(xs))
			var mu sync.Mutex
			var stop string
			work := make(chan int)
			var wg sync.WaitGroup
			for w := 0; w < runtime.GOMAXPROCS(0); w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range work {
						c, err := v.Certify(context.Background(), xs[i], eps, 0, 1, method, ys[i])
						if err != nil {
							t.Error(err)
							continue
						}
						certified[i] = c.Certified
						if c.StoppedBy != "" {
							mu.Lock()
							stop = c.StoppedBy
							mu.Unlock()
						}
					}
				}()
			}
			for i := range xs {
				work <- i
			}
			close(work)
			wg.Wait()
			k := 0
			for _, c := range certified {
				if c {
					k++
				}
			}
			el := time.Since(t0)
			fmt.Printf("%s eps %v %-5v certified %d/%d (%.1f%%)  %v wall, %.3f s/sample/thread (%d threads) %s\n",
				*evalModel, eps, method, k, len(xs), 100*float64(k)/float64(len(xs)), el.Round(time.Millisecond),
				el.Seconds()*float64(runtime.GOMAXPROCS(0))/float64(len(xs)), runtime.GOMAXPROCS(0), stop)
		}
	}
}
