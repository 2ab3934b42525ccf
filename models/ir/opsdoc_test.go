package ir

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/advcheck/advcheck/models/onnx"
)

var update = flag.Bool("update", false, "rewrite docs/ops.md from the op table")

const opsDocPath = "../../docs/ops.md"

// opsDoc renders docs/ops.md from the importer's op table.
func opsDoc() []byte {
	lim := onnx.DefaultLimits()
	var b bytes.Buffer
	fmt.Fprintf(&b, `# Supported ONNX ops

<!-- Generated from the importer's op table (models/ir/optable.go) by
     go test ./models/ir -run TestOpsDoc -update
     Do not edit: TestOpsDoc fails when this file differs from the table. -->

advcheck reads models that import the default ONNX operator set (`+"`ai.onnx`"+`) at
versions %d to %d. The table lists every op of that set the importer converts, the
opset versions it accepts the op at, and what of the op is supported. A model that
uses any other op (or an op of another domain) is refused with one message naming
every missing op, the number of its nodes and the first of them:

    advcheck does not support ops Greater (2 nodes, first "/Greater"), GridSample (node "/warp/GridSample") yet

Constants are folded at import (shape computations, arithmetic on constants). Every
tensor that folding creates is checked before it is allocated: one folded constant,
like one activation per sample, may hold at most %d elements (lower with
`+"`--max-tensor-elements`"+`), and all folded constants together at most %d elements
more than the model stores.

| op | opsets | supported |
| --- | --- | --- |
`, lim.MinOpset, lim.MaxOpset, MaxValueElements, MaxFoldElements)
	for _, op := range SupportedOps() {
		fmt.Fprintf(&b, "| %s | %d–%d | %s |\n", op.OpType, op.MinOpset, op.MaxOpset, op.Note)
	}
	return b.Bytes()
}

// TestOpsDoc keeps docs/ops.md in step with the op table.
func TestOpsDoc(t *testing.T) {
	want := opsDoc()
	if *update {
		if err := os.WriteFile(opsDocPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(opsDocPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/ops.md is out of date with models/ir/optable.go; regenerate it with\n\tgo test ./models/ir -run TestOpsDoc -update")
	}
}
