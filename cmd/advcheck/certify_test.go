package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// certifyQuick is a small sweep with randomized smoothing beside an L2 attack.
var certifyQuick = []string{"--limit", "6", "--batch", "64", "--attack", "fgsm,pgd:steps=2,norm=l2", "--eps", "linf=0,0.1 l2=0,0.5,1",
	"--certify", "smoothing:n0=10,n=100", "--checks=false", "--examples", "0", "-q"}

// TestSweepCertify: --certify smoothing writes certified rows per L2 eps
// and the radius summary into the report, and its text table, Markdown and
// JUnit; sharded runs merge to the single-process report; a resumed run
// completes it; mistakes in the spec are usage errors (exit 2).
func TestSweepCertify(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	md := filepath.Join(dir, "r.md")
	junit := filepath.Join(dir, "r.xml")
	code, out, errs := advcheck(t, append([]string{"sweep", "--json", full, "--md", md, "--junit", junit}, certifyQuick[:len(certifyQuick)-1]...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v := readJSON(t, full)
	rows, _ := v["certified"].([]any)
	if len(rows) != 3 {
		t.Fatalf("certified rows %v, want one per L2 eps", v["certified"])
	}
	for _, row := range rows {
		m := row.(map[string]any)
		if m["classifier"] != "smoothed" || m["norm"] != "l2" || m["certify_id"] != "smoothing:n0=10,n=100" {
			t.Errorf("row %v", m)
		}
	}
	if !strings.Contains(out, "certified smoothing:n0=10,n=100 (smoothed g)") || !strings.Contains(out, "certifies g, the smoothed classifier, not the model") {
		t.Errorf("the table lacks the certified rows:\n%s", out)
	}
	if s := mustRead(t, md); !strings.Contains(s, "certified smoothing:n0=10,n=100 (smoothed g)") {
		t.Errorf("Markdown lacks the certified rows:\n%s", s)
	}
	if s := mustRead(t, junit); !strings.Contains(s, `name="certified/smoothing:n0=10,n=100/l2/0.5"`) {
		t.Errorf("JUnit lacks the certified cases:\n%s", s)
	}
	var parts []string
	for i := range 2 {
		p := filepath.Join(dir, "part"+string(rune('0'+i))+".json")
		parts = append(parts, p)
		if code, _, errs := advcheck(t, append([]string{"sweep", "--shard", string(rune('0'+i)) + "/2", "--json", p}, certifyQuick...)...); code != 0 {
			t.Fatalf("shard %d: exit %d: %s", i, code, errs)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, errs := advcheck(t, append([]string{"merge", "--json", merged, "-q"}, parts...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, merged) {
		t.Error("merged shards differ from the single-process report")
	}
	// A report without the certificates does not resume a run with them.
	plain := filepath.Join(dir, "plain.json")
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", plain, "--checks=false", "-q"}, certifyQuick[:len(certifyQuick)-6]...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, _, errs := advcheck(t, append([]string{"sweep", "--json", filepath.Join(dir, "x.json"), "--resume", plain}, certifyQuick...)...); code != 3 {
		t.Errorf("resume of another plan: exit %d: %s", code, errs)
	}
	for _, c := range []struct{ spec, eps, want string }{
		{"smoothing:sigma=0", "linf=0 l2=0,1", "sigma"},
		{"smoothing:k=1", "linf=0 l2=0,1", `no parameter "k"`},
		{"lp", "linf=0 l2=0,1", "unknown method"},
		{"smoothing,smoothing", "linf=0 l2=0,1", "given twice"},
		{"smoothing", "linf=0,0.1", "--eps gives none"},
	} {
		code, _, errs := advcheck(t, "sweep", "--limit", "2", "--attack", "fgsm", "--eps", c.eps, "--certify", c.spec, "-q")
		if code != 2 || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("--certify %s --eps %s: exit %d, %q; want 2 and one line with %q", c.spec, c.eps, code, errs, c.want)
		}
	}
}
