package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/advcheck/advcheck/reports"
)

// FuzzReadReport: any bytes give a report or an ErrBadReport error; a report
// that reads is consistent (it reduces to the figures it states, and encodes
// to bytes that read again) and renders without panicking. Seeds include
// tampered copies of a real report: an extra outcome set, reordered sets,
// an edited accuracy and a part claiming 10^8 shards.
func FuzzReadReport(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "reports", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) >= 200_000 {
			continue
		}
		f.Add(b)
		for _, tamper := range []func(v map[string]any){
			func(v map[string]any) {
				o := arr(v, "samples", "outcomes")
				obj(v, "samples")["outcomes"] = append(o, o[0])
			},
			func(v map[string]any) { o := arr(v, "samples", "outcomes"); o[0], o[1] = o[1], o[0] },
			func(v map[string]any) { obj(v, "results", 1)["accuracy"] = 1.0 },
			func(v map[string]any) { obj(v, "config", "shard")["n"] = 1e8 },
		} {
			var v map[string]any
			if json.Unmarshal(b, &v) == nil {
				tamper(v)
				tb, _ := json.Marshal(v)
				f.Add(tb)
			}
		}
	}
	f.Add([]byte(`{"schema":"advcheck/report/v1","samples":{"index":[0],"label":[1],"clean_pred":[1],"outcomes":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := reports.Read(bytes.NewReader(data), 1<<20)
		if err != nil {
			if !errors.Is(err, reports.ErrBadReport) {
				t.Fatalf("error %q does not wrap ErrBadReport", err)
			}
			return
		}
		again, err := r.Encode()
		if err != nil {
			t.Fatalf("a report that reads does not encode: %v", err)
		}
		if _, err := reports.Decode(again); err != nil {
			t.Fatalf("a report that reads does not read again once encoded: %v", err)
		}
		if err := r.Reduce(); err != nil {
			t.Fatalf("a verified report does not reduce: %v", err)
		}
		var buf bytes.Buffer
		Table(&buf, r)
		Markdown(&buf, r)
		HTML(&buf, r)
		JUnit(&buf, r)
		r.WriteSamples(&buf)
	})
}
