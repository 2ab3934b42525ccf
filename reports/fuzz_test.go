package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParsePolicy: any bytes give a policy or an ErrPolicy error, never a panic.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(examplePolicy))
	f.Add([]byte("apiVersion: advcheck/policy/v1\nmodel: m\nattacks: [fgsm]\nrequirements: [{min_clean_accuracy: 0.5}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	for _, c := range hostilePolicies {
		f.Add([]byte(c.doc))
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "policies", "*.yaml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bad policy") {
				t.Fatalf("error %q does not wrap ErrPolicy", err)
			}
			return
		}
		if p.APIVersion != PolicyAPIVersion || len(p.Requirements) == 0 {
			t.Fatalf("accepted policy %+v", p)
		}
	})
}

// FuzzReadReport: any bytes give a report or an ErrBadReport error; a report
// that reads can be reduced and rendered without panicking.
func FuzzReadReport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "reports", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil && len(b) < 200_000 {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"schema":"advcheck/report/v1","samples":{"index":[0],"label":[1],"clean_pred":[1],"outcomes":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Read(bytes.NewReader(data), 1<<20)
		if err != nil {
			return
		}
		if r.Samples != nil {
			if err := r.Reduce(); err != nil {
				return
			}
		}
		var buf bytes.Buffer
		r.WriteTable(&buf)
		r.WriteMarkdown(&buf)
		r.WriteHTML(&buf)
		r.WriteJUnit(&buf)
		if r.Samples != nil {
			r.WriteSamples(&buf)
		}
	})
}
