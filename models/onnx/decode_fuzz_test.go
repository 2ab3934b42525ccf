package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode decodes arbitrary bytes. Decoding must never panic; an error
// must wrap one of the sentinels and be one line; a decoded model must
// respect the limits, and the accessors of its tensors must not panic.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.onnx"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(encoder{}.model(richModel()))
	f.Add(encoder{unpacked: true}.model(richModel()))
	f.Add(skipMe(encoder{}.model(richModel())))
	f.Add(modelWithTensor(encoder{}.tensor(&Tensor{Name: "huge", DataType: Float, Dims: []int64{1000000, 1000000}})))
	f.Add(modelWithTensor(encoder{}.tensor(&Tensor{DataType: Float16, Dims: []int64{2}, RawData: []byte{0, 0x3c, 0, 0x7c}})))
	f.Add(modelWithAttr(bField(sField(nil, 1, "pads"), 8, []byte{1, 2, 0x80})))

	// Small limits, so that the fuzzer reaches them.
	small := Limits{MaxBytes: 1 << 20, MaxTensorElements: 1 << 12, MaxTotalElements: 1 << 14, MaxNodes: 64,
		MaxDepth: 3, MinOpset: 1, MaxOpset: 30, MaxDims: 5, MaxItems: 1 << 12}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{small, DefaultLimits()} {
			m, err := Decode(data, lim)
			if err != nil {
				if m != nil {
					t.Fatalf("a model came back with error %v", err)
				}
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("error %q wraps no sentinel", err)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, "onnx: ") || strings.Contains(msg, "\n") {
					t.Fatalf("error %q", msg)
				}
				continue
			}
			if err := validate(m, lim.orDefault()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
