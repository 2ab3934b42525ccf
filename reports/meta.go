package reports

import (
	"os"
	"time"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/internal/buildinfo"
	"github.com/advcheck/advcheck/models"
)

// ModelOf describes a loaded model for a report.
func ModelOf(path string, m *models.Classifier) Model {
	info := m.Info()
	c := m.Contract()
	return Model{
		Path: path, SHA256: info.SHA256, Opset: info.Opset, Params: info.Params, OutputKind: info.OutputKind,
		Inputs:        []TensorInfo{{Name: info.InputName, Shape: info.InputShape}},
		Outputs:       []TensorInfo{{Name: info.OutputName, Shape: info.OutputShape}},
		InputContract: InputContract{Layout: string(c.Layout), Bounds: [2]float64{c.Lo, c.Hi}, Scale: c.Scale, Mean: c.Mean, Std: c.Std, InputShape: c.InputShape},
		Classes:       m.Spec().ClassNames,
		Notes:         info.Notes,
	}
}

// RunOf records the provenance of this execution.
func RunOf(start time.Time, command []string) Run {
	bi := buildinfo.Read()
	host, _ := os.Hostname()
	return Run{
		// Both native libraries a result can depend on: the matrix
		// products' BLAS and the JPEG decoder that made the pixels.
		Tool:      Tool{Name: "advcheck", Version: bi.Version, Go: bi.Go, BLAS: models.Backend(), JPEG: datasets.JPEGDecoder, Threads: models.Threads()},
		Created:   start.UTC().Format(time.RFC3339),
		DurationS: Num(time.Since(start).Seconds()),
		Host:      host,
		Command:   command,
	}
}
