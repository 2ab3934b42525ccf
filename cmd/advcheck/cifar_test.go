package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Files written by testdata/gen_cifar.py: 20 CIFAR-10 records, 8 CIFAR-100
// records, the same images as .npy, and rgb10.onnx, a 10-class colour model
// that classifies exactly 16 of the 20 CIFAR-10 records correctly.
const cifarData = "../../testdata/cifar/"

var cifarSweep = []string{"--model", cifarData + "rgb10.onnx", "--attack", "fgsm", "--eps", "0,8/255", "--batch", "8", "-q"}

func sweepJSON(t *testing.T, path string, args ...string) map[string]any {
	t.Helper()
	code, _, errs := advcheck(t, append(append([]string{"sweep", "--json", path}, cifarSweep...), args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	return readJSON(t, path)
}

// A sweep on cifar10:DIR attacks the file's 20 images with their labels and
// class names, identified by the same data hash as the .npy copy; shards of
// it merge into the whole run.
func TestSweepCIFAR10(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full.json")
	r := sweepJSON(t, full, "--data", "cifar10:"+cifarData+"cifar-10-batches-bin")
	n := sweepJSON(t, filepath.Join(dir, "npy.json"), "--data", "npy:"+cifarData+"cifar10_x.npy,"+cifarData+"cifar10_y.npy")
	ds, nds := r["dataset"].(map[string]any), n["dataset"].(map[string]any)
	if ds["sha256_decoded"] != nds["sha256_decoded"] || ds["total"] != 20.0 {
		t.Errorf("cifar10: %v samples, sha256_decoded %v; the .npy copy's is %v", ds["total"], ds["sha256_decoded"], nds["sha256_decoded"])
	}
	if got := ds["classes"]; len(got.([]any)) != 10 || got.([]any)[0] != "airplane" || got.([]any)[9] != "truck" {
		t.Errorf("classes %v", got)
	}
	clean := r["clean"].(map[string]any)
	if clean["n"] != 20.0 || clean["n_correct"] != 16.0 {
		t.Errorf("clean %v; want 16 of 20 correct (gen_cifar.py's float64 predictions)", clean)
	}
	if files := ds["files"].([]any); len(files) != 1 || !strings.HasSuffix(files[0].(map[string]any)["path"].(string), "test_batch.bin") {
		t.Errorf("files %v", files)
	}

	var parts []string
	for _, s := range []string{"0/2", "1/2"} {
		p := filepath.Join(dir, "part"+s[:1]+".json")
		sweepJSON(t, p, "--data", "cifar10:"+cifarData+"cifar-10-batches-bin", "--shard", s)
		parts = append(parts, p)
	}
	merged := filepath.Join(dir, "merged.json")
	if code, _, errs := advcheck(t, append([]string{"merge", "--json", merged, "-q"}, parts...)...); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if withoutRun(t, full) != withoutRun(t, merged) {
		t.Error("merged shards differ from the single-process report")
	}
}

// cifar100:DIR is labelled by the fine labels, and the report says so.
func TestSweepCIFAR100(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--model", cifarData + "rgb100.onnx", "--labels", "pred"}
	r := sweepJSON(t, filepath.Join(dir, "r.json"), append(args, "--data", "cifar100:"+cifarData+"cifar-100-binary")...)
	n := sweepJSON(t, filepath.Join(dir, "n.json"), append(args, "--data", "npy:"+cifarData+"cifar100_x.npy,"+cifarData+"cifar100_y.npy")...)
	ds, nds := r["dataset"].(map[string]any), n["dataset"].(map[string]any)
	if ds["sha256_decoded"] != nds["sha256_decoded"] || ds["total"] != 8.0 {
		t.Errorf("cifar100: %v samples, sha256_decoded %v; the .npy copy's (fine labels) is %v", ds["total"], ds["sha256_decoded"], nds["sha256_decoded"])
	}
	notes, _ := ds["notes"].([]any)
	if len(notes) != 2 || !strings.Contains(notes[0].(string), "fine labels (0…99)") || !strings.Contains(notes[1].(string), "fine_label_names.txt is not there") {
		t.Errorf("notes %q", notes)
	}
}

// Bad CIFAR input ends with exit 3 and one line that says what is wrong,
// at once for a named pipe.
func TestCIFARBadInputsCLI(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(cifarData + "cifar-10-batches-bin/test_batch.bin")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	label := append([]byte(nil), good...)
	label[5*3073] = 10
	fifo := mkfifo(t, filepath.Join(dir, "fifo", "test_batch.bin"))
	for _, c := range []struct {
		name string
		data string
		say  string
	}{
		{"truncated", "cifar10:" + write("short.bin", good[:len(good)-100]), "is not a whole number of 3073-byte CIFAR-10 records"},
		{"label byte 10", "cifar10:" + write("label.bin", label), "record 5 has label byte 0 = 10, outside CIFAR-10's 0…9"},
		{"CIFAR-100 labels on a 10-class model", "cifar100:" + cifarData + "cifar-100-binary", "label 57 of sample 0 is outside [0, 10) (the model has 10 classes)"},
		{"named pipe", "cifar10:" + filepath.Dir(fifo), "is a named pipe, not a regular file"},
		{"pickle", "cifar10:" + write("test_batch", []byte("\x80\x04\x95\x00")), "is a Python pickle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := advcheckWithin(t, 30*time.Second, append([]string{"sweep", "--data", c.data}, cifarSweep...)...)
			if code != 3 || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
				t.Errorf("exit %d, stderr %q; want exit 3, one line saying %q", code, errs, c.say)
			}
		})
	}
}
