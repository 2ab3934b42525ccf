package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cnnReport    = "../../testdata/reports/compare-mnist-cnn.json"
	cnnAdvReport = "../../testdata/reports/compare-mnist-cnn-adv.json"
)

// The zoo's MNIST CNN against its adversarially trained twin on the same 40
// samples: the table and the Markdown, byte for byte.
func TestCompareGoldens(t *testing.T) {
	var table bytes.Buffer
	if err := runCompare(context.Background(), &compareOptions{}, []string{cnnReport, cnnAdvReport}, &table); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare-cnn.table", table.Bytes())
	md := filepath.Join(t.TempDir(), "cmp.md")
	var none bytes.Buffer
	if err := runCompare(context.Background(), &compareOptions{md: md, quiet: true}, []string{cnnReport, cnnAdvReport}, &none); err != nil {
		t.Fatal(err)
	}
	if none.Len() != 0 {
		t.Errorf("-q printed %q", none.String())
	}
	b, _ := os.ReadFile(md)
	golden(t, "compare-cnn.md", b)
}

// Reports on other data, other samples or unsigned under
// --require-signature are refused with one line and the documented status.
func TestCompareRefusals(t *testing.T) {
	dir := t.TempDir()
	shard := filepath.Join(dir, "shard.json")
	if code, _, errs := advcheck(t, "sweep", "--model", "zoo:mnist-cnn-adv", "--limit", "40", "--shard", "0/2", "--attack", "fgsm", "--eps", "0,0.1", "--json", shard, "-q"); code != 0 {
		t.Fatalf("sweep: exit %d %s", code, errs)
	}
	tampered := filepath.Join(dir, "tampered.json")
	tamperJSON(t, cnnAdvReport, tampered, func(v map[string]any) { jsonObj(v, "results", 1)["accuracy"] = 0.5 })
	code, _, errs := advcheck(t, "compare", cnnReport, smallReport)
	oneLine(t, "other data", code, errs, 2, "the reports are not on the same data: sweep-small.json was run on other data than compare-mnist-cnn.json (decoded data sha256 811fc692d7c4, not 9c85850594d8)")
	code, _, errs = advcheck(t, "compare", cnnReport, cnnAdvReport, shard)
	oneLine(t, "other samples", code, errs, 2, "shard.json covers other samples than compare-mnist-cnn.json (20 samples, shard 0/2; compare-mnist-cnn.json: 40 samples, shard 0/1)")
	code, _, errs = advcheck(t, "compare", cnnReport, tampered)
	oneLine(t, "tampered", code, errs, 3, "results[1]")
	code, _, errs = advcheck(t, "compare", cnnReport)
	oneLine(t, "one report", code, errs, 2, "requires at least 2 arg(s)")

	key := filepath.Join(dir, "k")
	if code, _, errs := advcheck(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	copyFile(t, cnnReport, a)
	copyFile(t, cnnAdvReport, b)
	if code, _, errs := advcheck(t, "sign", a, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	code, _, errs = advcheck(t, "compare", a, b, "--require-signature", key+".pub", "-q")
	oneLine(t, "unsigned", code, errs, 1, "--require-signature")
	if code, _, errs := advcheck(t, "sign", b, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	html := filepath.Join(dir, "cmp.html")
	if code, out, errs := advcheck(t, "compare", a, b, "--require-signature", key+".pub", "--html", html); code != 0 || !strings.Contains(out, "newly broken") {
		t.Fatalf("signed: exit %d %s %s", code, out, errs)
	}
	if page := mustRead(t, html); !strings.Contains(page, "<svg class=\"plot\"") || !strings.Contains(page, "a.json") {
		t.Error("the HTML page has no plots or does not name the reports")
	}
}
