package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"

	"github.com/advcheck/advcheck/internal/textsafe"
	"github.com/advcheck/advcheck/models"
)

type inspectOptions struct {
	modelOptions
	json bool
}

func newInspectCommand() *cobra.Command {
	opts := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a model's inputs, outputs, ops, parameters, SHA-256 and output kind",
		Long: `Load an ONNX model the way sweep would and describe it: input and output
names and shapes, the ONNX op histogram, the number of parameters, the opset,
the file's SHA-256, and the output kind — logits, or probabilities whose final
Softmax advcheck set aside so that attacks use the logits before it. Notes list
the rewrites made at load (e.g. a batch size of 1 baked into a Reshape).

MODEL is a file path or zoo:NAME; 'advcheck inspect zoo:' lists the embedded models.

` + exitStatusHelp,
		Example: `  advcheck inspect model.onnx
  advcheck inspect zoo:mnist-cnn --json
  advcheck inspect tf_model.onnx --layout nhwc`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), opts, args[0], cmd.OutOrStdout())
		},
	}
	opts.addFlags(cmd.Flags(), false)
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

// inspectReport is the JSON form of `advcheck inspect`.
type inspectReport struct {
	Model    string          `json:"model"`
	Info     models.Info     `json:"info"`
	Classes  int             `json:"classes"`
	Input    []int           `json:"pixel_input_shape"`
	Contract models.Contract `json:"input_contract"`
	IROps    []string        `json:"ir_ops"`
	Backend  string          `json:"blas"`
}

func runInspect(ctx context.Context, opts *inspectOptions, spec string, w io.Writer) error {
	if spec == "zoo:" || spec == "zoo" {
		return listZoo(w, opts.json)
	}
	var m *models.Classifier
	err := untilDone(ctx, func() (err error) {
		m, err = opts.load(spec)
		return err
	})
	if err != nil {
		return err
	}
	info := m.Info()
	rep := inspectReport{Model: spec, Info: info, Classes: m.Spec().Classes, Input: m.Spec().Shape,
		Contract: m.Contract(), IROps: m.OpHistogram(), Backend: models.Backend()}
	if opts.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	t := tablewriter.NewWriter(w)
	t.SetAutoWrapText(false)
	t.SetAlignment(tablewriter.ALIGN_LEFT)
	rows := [][]string{
		{"model", spec},
		{"sha256", info.SHA256},
		{"bytes", fmt.Sprint(info.Bytes)},
		{"producer", strings.TrimSpace(info.Producer)},
		{"ir version / opset", fmt.Sprintf("%d / %d", info.IRVersion, info.Opset)},
		{"input", fmt.Sprintf("%s %s (%s)", info.InputName, shapeString(info.InputShape), m.Contract().Layout)},
		{"output", fmt.Sprintf("%s %s", info.OutputName, shapeString(info.OutputShape))},
		{"output kind", info.OutputKind},
		{"classes", fmt.Sprint(m.Spec().Classes)},
		{"parameters", fmt.Sprint(info.Params)},
		{"onnx ops", opHistogram(info.Ops)},
		{"ir nodes", fmt.Sprintf("%d: %s", info.Nodes, strings.Join(m.OpHistogram(), " "))},
		{"pixel input", fmt.Sprintf("%s in [%g, %g]", shapeString(append([]int{-1}, m.Spec().Shape...)), m.Spec().Lo, m.Spec().Hi)},
	}
	for _, n := range info.Notes {
		rows = append(rows, []string{"note", n})
	}
	// Names, the producer and notes come from the model file.
	for i := range rows {
		rows[i] = textsafe.Lines(rows[i])
	}
	t.AppendBulk(rows)
	t.Render()
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "N"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, "×") + "]"
}

func opHistogram(ops map[string]int) string {
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, ops[k])
	}
	return strings.Join(parts, " ")
}
