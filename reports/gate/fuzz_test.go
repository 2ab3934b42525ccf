package gate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testdata = "../../testdata"

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
