// Command archcheck loads an ONNX classifier in advcheck's engine and writes,
// for a batch of inputs, the logits and the input gradient of the summed
// cross-entropy loss, for scripts/check_architectures.py to compare with
// PyTorch:
//
//	archcheck -model m.onnx -x x.npy -y y.npy -out DIR
//
// x.npy is float32 N×C×H×W, y.npy int64 (N,). It writes DIR/logits.npy
// (float32 N×K), DIR/grad.npy (float32, the shape of x) and prints one line
// of JSON with the load and forward + gradient times in seconds. A model that
// does not load ends it with the error on stderr and exit status 3.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/advcheck/advcheck/internal/npy"
	"github.com/advcheck/advcheck/models"
)

func main() {
	model := flag.String("model", "", "ONNX model file")
	xPath := flag.String("x", "", "inputs, float32 N×C×H×W .npy")
	yPath := flag.String("y", "", "labels, int64 (N,) .npy")
	out := flag.String("out", "", "directory for logits.npy and grad.npy")
	threads := flag.Int("threads", 0, "worker threads (0: the default)")
	flag.Parse()
	if *model == "" || *xPath == "" || *yPath == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "archcheck: -model, -x, -y and -out are required")
		os.Exit(2)
	}
	if err := run(*model, *xPath, *yPath, *out, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "archcheck:", err)
		os.Exit(3)
	}
}

func run(model, xPath, yPath, out string, threads int) error {
	if threads > 0 {
		models.SetThreads(threads)
	}
	lim := npy.DefaultLimits()
	xa, err := npy.ReadFile(xPath, lim)
	if err != nil {
		return err
	}
	ya, err := npy.ReadFile(yPath, lim)
	if err != nil {
		return err
	}
	if len(xa.Shape) != 4 {
		return fmt.Errorf("%s: shape %v, want N×C×H×W", xPath, xa.Shape)
	}
	y64, err := ya.Int64s()
	if err != nil {
		return err
	}
	n := xa.Shape[0]
	if len(y64) != n {
		return fmt.Errorf("%d labels for %d inputs", len(y64), n)
	}
	labels := make([]int, n)
	for i, v := range y64 {
		labels[i] = int(v)
	}
	t0 := time.Now()
	m, err := models.Open(model, models.Contract{InputShape: xa.Shape[1:]}, models.DefaultLimits())
	if err != nil {
		return err
	}
	load := time.Since(t0).Seconds()
	m.SetMaxBatch(n)
	k := m.Spec().Classes
	x := xa.Float32s()
	logits := make([]float32, n*k)
	grad := make([]float32, len(x))
	t1 := time.Now()
	if err := m.LossGradient(context.Background(), x, n, models.Objective{Loss: models.CrossEntropy, Labels: labels}, grad, logits, nil); err != nil {
		return err
	}
	step := time.Since(t1).Seconds()
	write := func(name string, shape []int, v []float32) error {
		f, err := os.Create(filepath.Join(out, name))
		if err != nil {
			return err
		}
		if err := npy.WriteFloat32(f, shape, v); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write("logits.npy", []int{n, k}, logits); err != nil {
		return err
	}
	if err := write("grad.npy", xa.Shape, grad); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]float64{"load_s": load, "forward_grad_s": step})
}
