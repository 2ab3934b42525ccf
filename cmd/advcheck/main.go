// Command advcheck tests the adversarial robustness of image classifiers:
// it loads an ONNX model, attacks it over sweeps of epsilon, and writes
// reports that CI can gate on and auditors can verify.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/advcheck/advcheck/internal/atomicfile"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, sig := withSignals(context.Background())
	defer sig.stop()
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	// Temporary files still open here belong to writes that failed or were
	// abandoned; nothing will rename them into place.
	atomicfile.RemoveTemps()
	if err == nil {
		return 0
	}
	code := exitCode(err, sig.received())
	fmt.Fprintln(stderr, "advcheck: "+errorLine(err))
	return code
}

// signals records which signal (if any) cancelled the context.
type signals struct {
	stop     func()
	received func() os.Signal
}

func withSignals(parent context.Context) (context.Context, signals) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	got := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			got <- s
			cancel()
			// A second signal ends the process at once.
			select {
			case <-ch:
				atomicfile.RemoveTemps()
				os.Exit(exitForSignal(s))
			case <-done:
			}
		case <-done:
		}
	}()
	var last os.Signal
	return ctx, signals{
		stop: func() {
			signal.Stop(ch)
			close(done)
			cancel()
		},
		received: func() os.Signal {
			select {
			case s := <-got:
				last = s
			default:
			}
			return last
		},
	}
}
