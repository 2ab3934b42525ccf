package ir

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

func decodeFile(t *testing.T, path string) *onnx.Model {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(b, onnx.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// importAlloc imports m and returns the error and the bytes allocated.
func importAlloc(m *onnx.Model, lim Limits) (error, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := FromONNX(m, lim)
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc
}

// Constants that folding would create (testdata/gen_hostile_fold.py) are
// refused from their shape, before they are allocated: the allocation stays
// within the fold budget, however large the tensor the file asks for.
func TestFoldLimits(t *testing.T) {
	const mib = 1 << 20
	budget := uint64(MaxFoldElements*8 + 16*mib)
	for _, c := range []struct {
		file  string
		say   string
		alloc uint64 // bytes import may allocate before it refuses
	}{
		{"fold_constantofshape", "ConstantOfShape output of shape [268435456] would hold more than the limit of 16777216 elements per tensor", 16 * mib},
		{"fold_constantofshape4", "ConstantOfShape output of shape [268435456]", 16 * mib},
		{"fold_many", `over the limit of 33554432 elements in all`, budget},
		{"fold_gather", "Gather output of shape [4194304 4096] would hold more than", 48 * mib},
		{"fold_pad", "Pad of shape [2147483652] would hold more than", 16 * mib},
		{"fold_broadcast", "Add of shape [65536 65536] would hold more than", 16 * mib},
		{"fold_concat", "Concat of shape [67108864] would hold more than", 64 * mib},
	} {
		t.Run(c.file, func(t *testing.T) {
			m := decodeFile(t, "../../testdata/hostile/"+c.file+".onnx")
			err, alloc := importAlloc(m, DefaultLimits())
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), c.say) {
				t.Errorf("error %v; want ErrLimit saying %q", err, c.say)
			}
			if alloc > c.alloc {
				t.Errorf("import allocated %d MiB before refusing; want at most %d MiB", alloc/mib, c.alloc/mib)
			}
		})
	}
}

// The caller's limits (--max-tensor-elements, the total) apply to folded
// constants, below the built-in caps.
func TestFoldLimitsFromCaller(t *testing.T) {
	m := decodeFile(t, "../../testdata/hostile/fold_broadcast_small.onnx")
	if _, err := FromONNX(m, DefaultLimits()); err != nil {
		t.Fatalf("2^22-element fold under the default limits: %v", err)
	}
	// The outer sum [2048×2048] is 4194304 elements.
	_, err := FromONNX(m, Limits{MaxTensorElements: 4194303})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "Add of shape [2048 2048] would hold more than the limit of 4194303 elements per tensor") {
		t.Errorf("per-tensor limit: %v", err)
	}
	if _, err := FromONNX(m, Limits{MaxTensorElements: 4194304}); err != nil {
		t.Errorf("at the per-tensor limit: %v", err)
	}
	// col and row (2048 each), the sum and its float copy (4194304 each).
	_, err = FromONNX(m, Limits{MaxFoldElements: 2*2048 + 2*4194304 - 1})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the limit of 8392703 elements in all") {
		t.Errorf("fold budget: %v", err)
	}
	// Larger limits than the engine's caps are capped.
	if l := (Limits{MaxTensorElements: 1 << 40, MaxFoldElements: 1 << 40}).capped(); l != DefaultLimits() {
		t.Errorf("capped %+v", l)
	}
}

// Two writers of one name are refused, as the ONNX checker does: the last
// writer must not silently win (ssa_last_writer would import with 32
// classes against the 10 it declares).
func TestSingleAssignment(t *testing.T) {
	for file, want := range map[string]string{
		"ssa_last_writer": `tensor "logits" is written by node "fc32" (Gemm) and already by node "fc10" (Gemm)`,
		"ssa_initializer": `tensor "W10" is written by node "shadow" (Relu) and already by an initializer`,
		"ssa_input":       `tensor "x" is written by node "again" (Relu) and already by the graph input`,
	} {
		_, err := FromONNX(decodeFile(t, "../../testdata/hostile/"+file+".onnx"), DefaultLimits())
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want ErrInvalid saying %q", file, err, want)
		}
	}
	// One node writing a name twice, and an input declared twice.
	dup := onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "split", OpType: "Dropout", Inputs: []string{"x"}, Outputs: []string{"y", "y"}}}, "y")
	if _, err := FromONNX(dup, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `tensor "y" is written by node "split" (Dropout) and already by node "split" (Dropout)`) {
		t.Errorf("one node, one name twice: %v", err)
	}
	twice := onnxModel([]*onnx.ValueInfo{image("x", 4), image("x", 4)}, nil,
		[]*onnx.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	if _, err := FromONNX(twice, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `graph input "x" is declared twice`) {
		t.Errorf("input declared twice: %v", err)
	}
}

// A real PyTorch export with ops advcheck lacks names every one of them at
// once, with counts and first nodes, and says it is advcheck's gap.
func TestUnsupportedOps(t *testing.T) {
	_, err := FromONNX(decodeFile(t, "../../testdata/hostile/unsupported_ops.onnx"), DefaultLimits())
	var ue *UnsupportedOpsError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupportedOp) {
		t.Fatalf("error %v is not an *UnsupportedOpsError", err)
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported) {
		t.Errorf("error %v also reads as another kind", err)
	}
	want := []UnsupportedOp{
		{OpType: "HardSwish", Count: 1, First: "/act/HardSwish"},
		{OpType: "Pow", Count: 1, First: "/norm/Pow"},
		{OpType: "Sqrt", Count: 1, First: "/norm/Sqrt"},
		{OpType: "Greater", Count: 1, First: "/Greater"},
		{OpType: "Where", Count: 2, First: "/Where"},
		{OpType: "Less", Count: 1, First: "/Less"},
	}
	if len(ue.Ops) != len(want) {
		t.Fatalf("ops %+v, want %+v", ue.Ops, want)
	}
	for i := range want {
		if ue.Ops[i] != want[i] {
			t.Errorf("op %d: %+v, want %+v", i, ue.Ops[i], want[i])
		}
	}
	const text = `advcheck does not support ops HardSwish (node "/act/HardSwish"), Pow (node "/norm/Pow"), Sqrt (node "/norm/Sqrt"), Greater (node "/Greater"), Where (2 nodes, first "/Where"), Less (node "/Less") yet (docs/ops.md lists the supported ops)`
	if err.Error() != text {
		t.Errorf("error text\n%s\nwant\n%s", err, text)
	}
	// Ops of other domains are listed with their domain; an op used before
	// its opset defines it is an invalid model, not a missing op.
	m := onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "g", OpType: "Gelu", Domain: "com.microsoft", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	if _, err := FromONNX(m, DefaultLimits()); err == nil || err.Error() != `advcheck does not support op com.microsoft.Gelu (node "g") yet (docs/ops.md lists the supported ops)` {
		t.Errorf("other domain: %v", err)
	}
	m = onnxModel([]*onnx.ValueInfo{image("x", 4)}, nil,
		[]*onnx.Node{{Name: "e", OpType: "Erf", Inputs: []string{"x"}, Outputs: []string{"y"}}}, "y")
	m.Opsets[0].Version = 8
	if _, err := FromONNX(m, DefaultLimits()); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "op Erf does not exist before opset 9") {
		t.Errorf("Erf at opset 8: %v", err)
	}
}
