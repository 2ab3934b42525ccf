package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The colour classifiers of testdata/gen_classes.py: a solid red, green or
// blue 2×2 image is output 0, 1, 2 of rgb3 and output 151, 281, 1 of rgb1000.
const (
	rgb3    = "../../testdata/classes/rgb3.onnx"
	rgb1000 = "../../testdata/classes/rgb1000.onnx"
)

var colours = map[string]color.NRGBA{
	"red": {R: 255, A: 255}, "green": {G: 255, A: 255}, "blue": {B: 255, A: 255},
}

// writeImages writes n solid images of a colour into dir.
func writeImages(t *testing.T, dir, colour string, n int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 2; x++ {
			img.SetNRGBA(x, y, colours[colour])
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%d.png", colour, i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sweepFolder runs a quick sweep of a model on folder data and returns the
// exit status, the report (nil unless the run wrote one) and stderr.
func sweepFolder(t *testing.T, model, dir string, extra ...string) (int, map[string]any, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	args := append([]string{"sweep", "--model", model, "--data", "folder:" + dir, "--attack", "fgsm", "--eps", "0,0.1", "--checks=false", "--json", out, "-q"}, extra...)
	code, _, errs := advcheck(t, args...)
	if _, err := os.Stat(out); err != nil {
		return code, nil, errs
	}
	return code, readJSON(t, out), errs
}

func cleanAccuracy(r map[string]any) any { return r["clean"].(map[string]any)["accuracy"] }

func flagIDs(r map[string]any) string {
	var ids []string
	for _, f := range r["flags"].([]any) {
		ids = append(ids, f.(map[string]any)["id"].(string))
	}
	return strings.Join(ids, " ")
}

// classMap renders the report's dataset.class_map as "source: folder=label ...".
func classMap(r map[string]any) string {
	m, _ := r["dataset"].(map[string]any)["class_map"].(map[string]any)
	if m == nil {
		return "<none>"
	}
	s := fmt.Sprint(m["source"], ":")
	for _, c := range m["classes"].([]any) {
		c := c.(map[string]any)
		s += fmt.Sprintf(" %v=%v", c["folder"], c["label"])
		if l, ok := c["symlink"]; ok {
			s += fmt.Sprintf("→%v", l)
		}
	}
	return s
}

// Issue 11.9: a symlinked class folder used to be skipped, shifting the
// labels of every later class (clean accuracy 1 → 0.33, exit 0).
func TestFolderSymlinkedClassCLI(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	writeImages(t, filepath.Join(dir, "0-red"), "red", 2)
	writeImages(t, filepath.Join(elsewhere, "green"), "green", 2)
	writeImages(t, filepath.Join(dir, "2-blue"), "blue", 2)
	target := filepath.Join(elsewhere, "green")
	if err := os.Symlink(target, filepath.Join(dir, "1-green")); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
	code, r, errs := sweepFolder(t, rgb3, dir)
	if code != 0 || r == nil {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if acc := cleanAccuracy(r); acc != 1.0 {
		t.Errorf("clean accuracy %v, want 1 (every image in the class of its colour)", acc)
	}
	if got, want := classMap(r), "folders: 0-red=0 1-green=1→"+target+" 2-blue=2"; got != want {
		t.Errorf("class map %q, want %q", got, want)
	}
	if !strings.Contains(errs, "class folder 1-green is a symbolic link to "+target+"; followed (label 1)") {
		t.Errorf("stderr does not tell the link was followed: %q", errs)
	}
}

// Links that lead nowhere are bad input: exit 3 and one line.
func TestFolderBadSymlinksCLI(t *testing.T) {
	for _, c := range []struct{ link, target, say string }{
		{"1-green", "missing", "dangling symbolic link"},
		{"1-green", "1-green", "symbolic link loop"},
		{"0-red/x.png", "nothing.png", "dangling symbolic link"},
	} {
		dir := t.TempDir()
		writeImages(t, filepath.Join(dir, "0-red"), "red", 1)
		writeImages(t, filepath.Join(dir, "2-blue"), "blue", 1)
		if err := os.Symlink(c.target, filepath.Join(dir, c.link)); err != nil {
			t.Skipf("symbolic links: %v", err)
		}
		code, _, errs := sweepFolder(t, rgb3, dir)
		if code != 3 || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 || strings.Contains(errs, "goroutine") {
			t.Errorf("%s → %s: exit %d, stderr %q; want exit 3, one line saying %q", c.link, c.target, code, errs, c.say)
		}
	}
}

// Issue 19.3: a lone WordNet-id folder against a 1000-output model.
func TestFolderClassesFlag(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "n02085620"), "red", 3)
	var list strings.Builder
	list.WriteString("# ImageNet-1k WordNet ids in output order\n")
	for i := 0; i < 1000; i++ {
		switch i {
		case 151:
			list.WriteString("n02085620\n")
		case 281:
			list.WriteString("n02123045\n")
		default:
			fmt.Fprintf(&list, "n%08d\n", i)
		}
	}
	classes := filepath.Join(t.TempDir(), "wnids.txt")
	os.WriteFile(classes, []byte(list.String()), 0o644)

	// Without a mapping the folder is label 0, and the run says so.
	code, r, errs := sweepFolder(t, rgb1000, dir)
	if code != 0 || r == nil {
		t.Fatalf("without --classes: exit %d: %s", code, errs)
	}
	if acc := cleanAccuracy(r); acc != 0.0 || classMap(r) != "folders: n02085620=0" || !strings.Contains(flagIDs(r), "class_count_mismatch") {
		t.Errorf("without --classes: accuracy %v, class map %q, flags %q; want 0, label 0 and a class_count_mismatch flag", acc, classMap(r), flagIDs(r))
	}
	if !strings.Contains(errs, "has 1 class folders but the model has 1000 outputs") || !strings.Contains(errs, "WordNet ids") || !strings.Contains(errs, "--classes FILE") {
		t.Errorf("stderr: %q; want the warning with the numbers and --classes", errs)
	}

	// With the class list it is output 151, as the model says.
	code, r, errs = sweepFolder(t, rgb1000, dir, "--classes", classes)
	if code != 0 || r == nil {
		t.Fatalf("--classes: exit %d: %s", code, errs)
	}
	if acc := cleanAccuracy(r); acc != 1.0 || classMap(r) != "classes_file: n02085620=151" || strings.Contains(flagIDs(r), "class_count_mismatch") {
		t.Errorf("--classes: accuracy %v, class map %q, flags %q; want 1, label 151, no class flag", acc, classMap(r), flagIDs(r))
	}
	if ds := r["dataset"].(map[string]any); ds["class_map"].(map[string]any)["file"] != classes || len(ds["classes"].([]any)) != 1000 {
		t.Errorf("dataset block %v", ds)
	}

	// A folder missing from the list, a list longer than the outputs, and
	// --classes with other data are refused.
	writeImages(t, filepath.Join(dir, "tabby"), "green", 1)
	if code, _, errs := sweepFolder(t, rgb1000, dir, "--classes", classes); code != 3 || !strings.Contains(errs, `class folder "tabby" is not in `+classes) {
		t.Errorf("unlisted folder: exit %d, %q", code, errs)
	}
	os.WriteFile(classes, []byte(list.String()+"n99999999\n"), 0o644)
	if code, _, errs := sweepFolder(t, rgb1000, dir, "--classes", classes); code != 3 || !strings.Contains(errs, "lists 1001 classes, the model has 1000 outputs") {
		t.Errorf("long list: exit %d, %q", code, errs)
	}
	if code, _, errs := advcheck(t, "sweep", "--classes", classes, "--limit", "2"); code != 2 || !strings.Contains(errs, "applies only to folder:DIR") {
		t.Errorf("--classes with mnist-sample: exit %d, %q", code, errs)
	}
}

// Issue 19.3: a partial classes.json maps folders into a 1000-output model.
func TestFolderPartialMappingCLI(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "chihuahua"), "red", 2)
	writeImages(t, filepath.Join(dir, "tabby"), "green", 2)
	os.WriteFile(filepath.Join(dir, "classes.json"), []byte(`{"chihuahua": 151, "tabby": 281}`), 0o644)
	code, r, errs := sweepFolder(t, rgb1000, dir)
	if code != 0 || r == nil {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if acc := cleanAccuracy(r); acc != 1.0 || classMap(r) != "classes.json: chihuahua=151 tabby=281" || strings.Contains(flagIDs(r), "class_count_mismatch") {
		t.Errorf("accuracy %v, class map %q, flags %q; want 1, labels 151 and 281", acc, classMap(r), flagIDs(r))
	}
	os.WriteFile(filepath.Join(dir, "classes.json"), []byte(`{"chihuahua": 151, "tabby": 1000}`), 0o644)
	if code, _, errs := sweepFolder(t, rgb1000, dir); code != 3 || !strings.Contains(errs, "the model's outputs are 0…999") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("index 1000: exit %d, %q", code, errs)
	}
}

// Issue 19.3: Thumbs.db and .DS_Store no longer abort the run; they are
// skipped and the report says so.
func TestFolderJunkCLI(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "0-red"), "red", 1)
	writeImages(t, filepath.Join(dir, "1-green"), "green", 1)
	writeImages(t, filepath.Join(dir, "2-blue"), "blue", 1)
	for _, p := range []string{".DS_Store", "0-red/Thumbs.db", "1-green/.DS_Store", "2-blue/desktop.ini"} {
		os.WriteFile(filepath.Join(dir, p), []byte("junk"), 0o644)
	}
	code, r, errs := sweepFolder(t, rgb3, dir)
	if code != 0 || r == nil {
		t.Fatalf("exit %d: %s", code, errs)
	}
	sk, _ := r["dataset"].(map[string]any)["skipped"].(map[string]any)
	if cleanAccuracy(r) != 1.0 || sk == nil || sk["count"] != 4.0 || fmt.Sprint(sk["names"]) != "[.DS_Store 0-red/Thumbs.db 1-green/.DS_Store 2-blue/desktop.ini]" {
		t.Errorf("accuracy %v, skipped %v", cleanAccuracy(r), sk)
	}
	if !strings.Contains(errs, "skipped 4 entries that are not class folders or images (.DS_Store, 0-red/Thumbs.db, 1-green/.DS_Store, 2-blue/desktop.ini)") {
		t.Errorf("stderr %q", errs)
	}
	// Other files are still refused.
	os.WriteFile(filepath.Join(dir, "2-blue", "labels.csv"), nil, 0o644)
	if code, _, errs := sweepFolder(t, rgb3, dir); code != 3 || !strings.Contains(errs, "labels.csv: not a PNG or JPEG image") {
		t.Errorf("labels.csv: exit %d, %q", code, errs)
	}
}

// Numbering two sorted folders against three outputs runs, with a warning
// flag in the report and on stderr.
func TestFolderCountMismatchCLI(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "0-red"), "red", 1)
	writeImages(t, filepath.Join(dir, "1-green"), "green", 1)
	code, r, errs := sweepFolder(t, rgb3, dir)
	if code != 0 || r == nil {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var msg string
	for _, f := range r["flags"].([]any) {
		if f := f.(map[string]any); f["id"] == "class_count_mismatch" && f["severity"] == "warning" {
			msg = f["message"].(string)
		}
	}
	if !strings.Contains(msg, "has 2 class folders but the model has 3 outputs") || !strings.Contains(errs, "advcheck: warning: "+msg) {
		t.Errorf("flag %q, stderr %q", msg, errs)
	}
	// Three folders for three outputs: no flag.
	writeImages(t, filepath.Join(dir, "2-blue"), "blue", 1)
	if code, r, errs := sweepFolder(t, rgb3, dir); code != 0 || strings.Contains(flagIDs(r), "class_count_mismatch") || strings.Contains(errs, "warning") {
		t.Errorf("matching count: exit %d, flags %q, stderr %q", code, flagIDs(r), errs)
	}
	// Four: label 3 is out of the model's range (exit 3, as before), and the
	// one error line says why.
	writeImages(t, filepath.Join(dir, "3-gray"), "red", 1)
	if code, _, errs := sweepFolder(t, rgb3, dir); code != 3 || !strings.Contains(errs, "3-gray/red0.png: label 3 of sample 3 is outside [0, 3)") ||
		!strings.Contains(errs, "has 4 class folders but the model has 3 outputs") || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
		t.Errorf("too many folders: exit %d, stderr %q", code, errs)
	}
}

// A gate policy gives the class list as data.classes, and a policy that
// allows no warnings fails a folder whose classes may not match the model.
func TestFolderClassesInPolicy(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	writeImages(t, filepath.Join(dir, "n02085620"), "red", 2)
	var list strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&list, "n%08d\n", map[bool]int{true: 2085620, false: i}[i == 151])
	}
	classes := filepath.Join(tmp, "wnids.txt")
	os.WriteFile(classes, []byte(list.String()), 0o644)
	policy := func(extra string) string {
		p := filepath.Join(tmp, "policy.yaml")
		os.WriteFile(p, []byte(`apiVersion: advcheck/policy/v1
model: {path: `+rgb1000+`}
data: {spec: "folder:`+dir+`"`+extra+`}
attacks: [fgsm]
eps: {linf: [0]}
requirements:
  - min_clean_accuracy: 1
  - max_flags: {warning: 0}
`), 0o644)
		return p
	}
	if code, out, errs := advcheck(t, "gate", "--policy", policy(", classes: "+classes), "--progress", "never"); code != 0 {
		t.Errorf("with classes: exit %d: %s %s", code, out, errs)
	}
	if code, out, errs := advcheck(t, "gate", "--policy", policy(""), "--progress", "never"); code != 1 || !strings.Contains(errs, "has 1 class folders but the model has 1000 outputs") {
		t.Errorf("without classes: exit %d: %s %s; want exit 1 and the class warning", code, out, errs)
	}
}

// Labels are hashed, so verify re-hashes folder data with the class list
// the sweep used: the same list matches, none does not.
func TestFolderClassesVerify(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	writeImages(t, filepath.Join(dir, "chihuahua"), "red", 1)
	writeImages(t, filepath.Join(dir, "tabby"), "green", 1)
	classes := filepath.Join(tmp, "classes.txt")
	os.WriteFile(classes, []byte("goldfish\nchihuahua\ntabby\n"), 0o644)
	key, rep := filepath.Join(tmp, "k"), filepath.Join(tmp, "r.json")
	if code, _, errs := advcheck(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "sweep", "--model", rgb3, "--data", "folder:"+dir, "--classes", classes, "--attack", "fgsm", "--eps", "0", "--json", rep, "-q"); code != 0 {
		t.Fatalf("sweep: %d %s", code, errs)
	}
	if code, _, errs := advcheck(t, "sign", rep, "--key", key+".key"); code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	if code, out, errs := advcheck(t, "verify", rep, "--pub", key+".pub", "--data", "folder:"+dir, "--classes", classes); code != 0 || !strings.Contains(out, "data OK") {
		t.Errorf("verify with the class list: %d %s %s", code, out, errs)
	}
	if code, _, errs := advcheck(t, "verify", rep, "--pub", key+".pub", "--data", "folder:"+dir); code != 1 {
		t.Errorf("verify without the class list: exit %d %s; want 1 (labels 0, 1 instead of 1, 2)", code, errs)
	}
}

// Folder and file names are data: the HTML report shows the class map and
// the skipped files escaped.
func TestFolderMarkupNamesCLI(t *testing.T) {
	dir := t.TempDir()
	writeImages(t, filepath.Join(dir, "0-red"), "red", 1)
	writeImages(t, filepath.Join(dir, "1-<img src=x onerror=alert(1)>"), "green", 1)
	writeImages(t, filepath.Join(dir, "2-blue"), "blue", 1)
	os.WriteFile(filepath.Join(dir, ".<script>alert(1)<\\script>"), nil, 0o644)
	html := filepath.Join(t.TempDir(), "r.html")
	code, r, errs := sweepFolder(t, rgb3, dir, "--html", html)
	if code != 0 || r == nil {
		t.Fatalf("exit %d: %s", code, errs)
	}
	text := mustRead(t, html)
	if strings.Contains(text, "<script>alert") || strings.Contains(text, "<img src=x") {
		t.Error("the HTML report holds unescaped markup")
	}
	for _, want := range []string{"<code>1-&lt;img src=x onerror=alert(1)&gt;</code> → 1 (images: 1)", "Skipped 1 entries", "&lt;script&gt;alert(1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the HTML report does not show %q", want)
		}
	}
}
