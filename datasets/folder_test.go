package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeClass writes n 2×2 images of one gray level into dir/class.
func writeClass(t *testing.T, dir, class string, n int, level uint8) {
	t.Helper()
	for i := 0; i < n; i++ {
		img := image.NewGray(image.Rect(0, 0, 2, 2))
		for p := range img.Pix {
			img.Pix[p] = level
		}
		writePNG(t, filepath.Join(dir, class, fmt.Sprintf("%d.png", i)), img)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
}

// A class folder that is a symbolic link is followed: every class keeps its
// label, and the link is recorded.
func TestFolderSymlinkedClass(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	writeClass(t, dir, "ant", 2, 10)
	writeClass(t, elsewhere, "bee", 2, 20)
	writeClass(t, dir, "cat", 2, 30)
	target := filepath.Join(elsewhere, "bee")
	symlink(t, target, filepath.Join(dir, "bee"))
	d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(d.Labels, []int{0, 0, 1, 1, 2, 2}) || strings.Join(d.Classes, ",") != "ant,bee,cat" {
		t.Fatalf("labels %v classes %v, want 0 0 1 1 2 2 and ant,bee,cat", d.Labels, d.Classes)
	}
	// Each sample's pixels are its class's gray level: the labels follow the images.
	for i, want := range []float32{10, 10, 20, 20, 30, 30} {
		if got := sampleOf(t, d, i)[0] * 255; got != want {
			t.Errorf("sample %d: level %v, want %v", i, got, want)
		}
	}
	f := d.Folder
	want := []ClassLabel{{"ant", 0, 2, ""}, {"bee", 1, 2, target}, {"cat", 2, 2, ""}}
	if f.ClassSource != ClassesFromFolders || fmt.Sprint(f.Classes) != fmt.Sprint(want) || f.CountWarning != "" {
		t.Errorf("folder info %+v, want classes %v from sorted folders", f, want)
	}
	// Image files reached through links are followed and recorded too.
	symlink(t, filepath.Join(dir, "ant", "0.png"), filepath.Join(dir, "cat", "9.png"))
	d, err = Open("folder:"+dir, Options{Shape: []int{1, 2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 7 || d.Labels[6] != 2 || d.Folder.LinkCount != 1 || d.Folder.Links[0] != (Symlink{"cat/9.png", filepath.Join(dir, "ant", "0.png")}) {
		t.Errorf("labels %v links %d %v", d.Labels, d.Folder.LinkCount, d.Folder.Links)
	}
}

// Dangling links and link loops, as class folders or as images, are refused
// with a message that says so.
func TestFolderBadSymlinks(t *testing.T) {
	for _, c := range []struct {
		name, link, target, say string
	}{
		{"dangling class", "bee", "nowhere", "dangling symbolic link"},
		{"class loop", "bee", "bee", "symbolic link loop"},
		{"dangling image", "ant/1.png", "gone.png", "dangling symbolic link"},
		{"image loop", "ant/1.png", "2.png", "symbolic link loop"},
	} {
		dir := t.TempDir()
		writeClass(t, dir, "ant", 1, 10)
		writeClass(t, dir, "cat", 1, 30)
		symlink(t, c.target, filepath.Join(dir, c.link))
		if c.name == "image loop" {
			symlink(t, "1.png", filepath.Join(dir, "ant", "2.png"))
		}
		_, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}})
		if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), c.say) || !strings.Contains(err.Error(), c.link) {
			t.Errorf("%s: %v; want bad data saying %q about %s", c.name, err, c.say, c.link)
		}
	}
}

// wnids returns n distinct WordNet-like ids with id at index at.
func wnids(n, at int, id string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i == at {
			b.WriteString(id + "\n")
			continue
		}
		fmt.Fprintf(&b, "n%08d\n", i)
	}
	return b.String()
}

func TestFolderClassList(t *testing.T) {
	dir := t.TempDir()
	writeClass(t, dir, "n02085620", 2, 10)
	list := filepath.Join(t.TempDir(), "wnids.txt")
	// Comments and blank lines do not count: n02085620 is class line 151
	// (in a file with a byte order mark and CRLF line ends).
	os.WriteFile(list, []byte("\xef\xbb\xbf# ImageNet-1k in output order\r\n\r\n"+strings.ReplaceAll(wnids(1000, 151, "n02085620"), "\n", "\r\n")), 0o644)
	opts := Options{Shape: []int{1, 2, 2}, Outputs: 1000, ClassFile: list}
	d, err := Open("folder:"+dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := d.Folder
	if !equalInts(d.Labels, []int{151, 151}) || len(d.Classes) != 1000 || d.Classes[151] != "n02085620" ||
		f.ClassSource != ClassesFromFile || f.ClassFile != list || fmt.Sprint(f.Classes) != "[{n02085620 151 2 }]" || f.CountWarning != "" {
		t.Fatalf("labels %v, %d classes, info %+v", d.Labels, len(d.Classes), f)
	}
	// The list wins over the folder's own mapping, and says so.
	os.WriteFile(filepath.Join(dir, "classes.txt"), []byte("n02085620\n"), 0o644)
	if d, err := Open("folder:"+dir, opts); err != nil || d.Labels[0] != 151 || len(d.Folder.Notes) != 1 || !strings.Contains(d.Folder.Notes[0], "classes.txt was not read") {
		t.Errorf("with classes.txt: %v %+v", err, d)
	}
	// Without the list, classes.txt numbers the folder 0.
	if d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 1000}); err != nil || d.Labels[0] != 0 || d.Folder.ClassSource != ClassesFromTxt {
		t.Errorf("classes.txt: %v %+v", err, d)
	}
	os.Remove(filepath.Join(dir, "classes.txt"))
	bad := func(name, content string, outputs int, say string) {
		t.Helper()
		os.WriteFile(list, []byte(content), 0o644)
		_, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: outputs, ClassFile: list})
		if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), say) {
			t.Errorf("%s: %v; want bad data saying %q", name, err, say)
		}
	}
	bad("duplicate", "n1\nn02085620\nn1\n", 1000, `class "n1" on lines 1 and 3`)
	bad("folder not listed", "n1\nn2\n", 1000, `class folder "n02085620" is not in `+list)
	bad("synset lines", "n02085620 Chihuahua\n", 1000, "list only the folder names")
	bad("longer than the outputs", wnids(1001, 151, "n02085620"), 1000, "lists 1001 classes, the model has 1000 outputs")
	bad("empty", "# nothing\n", 1000, "no class names")
	bad("blank", "", 1000, "no class names")
	os.Remove(list)
	if _, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, ClassFile: list}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "class list: open "+list) {
		t.Errorf("missing list: %v", err)
	}
	if _, err := Open("mnist-sample", Options{ClassFile: list}); !errors.Is(err, ErrSpec) {
		t.Errorf("--classes with mnist-sample: %v; want a spec error", err)
	}
}

// classes.json may map folders to any of the model's outputs.
func TestFolderPartialJSON(t *testing.T) {
	dir := t.TempDir()
	writeClass(t, dir, "chihuahua", 1, 10)
	writeClass(t, dir, "tabby", 2, 20)
	mapping := filepath.Join(dir, "classes.json")
	os.WriteFile(mapping, []byte(`{"chihuahua": 151, "tabby": 281, "goldfish": 1}`), 0o644)
	d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 1000})
	if err != nil {
		t.Fatal(err)
	}
	f := d.Folder
	if !equalInts(d.Labels, []int{151, 281, 281}) || d.Classes != nil || f.ClassSource != ClassesFromJSON || f.ClassFile != mapping ||
		fmt.Sprint(f.Classes) != "[{chihuahua 151 1 } {tabby 281 2 }]" || f.CountWarning != "" {
		t.Fatalf("labels %v classes %v info %+v", d.Labels, d.Classes, f)
	}
	for _, c := range []struct{ json, say string }{
		{`{"chihuahua": 151, "tabby": 1000}`, `class "tabby" has index 1000; the model's outputs are 0…999`},
		{`{"chihuahua": 151, "tabby": 151}`, `classes "chihuahua" and "tabby" share index 151`},
		{`{"chihuahua": 151, "chihuahua": 281, "tabby": 2}`, `class "chihuahua" given twice`},
		{`{"chihuahua": 151}`, `class folder "tabby" is not in ` + mapping},
		{`{"chihuahua": -1, "tabby": 2}`, "not an output index"},
		{`{"chihuahua": 1.5, "tabby": 2}`, "not an output index"},
		{`{"chihuahua": "x", "tabby": 2}`, "want an integer"},
		{`["chihuahua", "tabby"]`, "want an object"},
		{`{"chihuahua": 1, "tabby": 2} {}`, "trailing data"},
		{`{}`, "empty mapping"},
	} {
		os.WriteFile(mapping, []byte(c.json), 0o644)
		_, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 1000})
		if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), c.say) {
			t.Errorf("%s: %v; want bad data saying %q", c.json, err, c.say)
		}
	}
	// A complete mapping also gives the class names by label.
	os.WriteFile(mapping, []byte(`{"tabby": 0, "chihuahua": 1}`), 0o644)
	if d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 2}); err != nil || strings.Join(d.Classes, ",") != "tabby,chihuahua" || !equalInts(d.Labels, []int{1, 0, 0}) {
		t.Errorf("complete mapping: %v %+v", err, d)
	}
}

// Files operating systems leave behind are skipped and counted; other
// files in class folders are still refused.
func TestFolderJunk(t *testing.T) {
	dir := t.TempDir()
	writeClass(t, dir, "ant", 1, 10)
	writeClass(t, dir, "bee", 1, 20)
	for _, p := range []string{"Thumbs.db", ".DS_Store", "README.md", "ant/Thumbs.db", "ant/desktop.ini", "ant/.DS_Store", "bee/._0.png", "bee/THUMBS.DB"} {
		os.WriteFile(filepath.Join(dir, p), []byte("junk"), 0o644)
	}
	os.MkdirAll(filepath.Join(dir, ".git", "objects"), 0o755)
	os.MkdirAll(filepath.Join(dir, "bee", ".ipynb_checkpoints"), 0o755)
	d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := ".DS_Store .git README.md Thumbs.db ant/.DS_Store ant/Thumbs.db ant/desktop.ini bee/._0.png bee/.ipynb_checkpoints bee/THUMBS.DB"
	if !equalInts(d.Labels, []int{0, 1}) || d.Folder.SkippedCount != 10 || strings.Join(d.Folder.Skipped, " ") != want {
		t.Errorf("labels %v, skipped %d %v; want 10: %s", d.Labels, d.Folder.SkippedCount, d.Folder.Skipped, want)
	}
	// The list of names is capped, the count is not.
	for i := 0; i < 30; i++ {
		os.WriteFile(filepath.Join(dir, "ant", fmt.Sprintf("._%d.png", i)), nil, 0o644)
	}
	if d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}}); err != nil || d.Folder.SkippedCount != 40 || len(d.Folder.Skipped) != MaxNoted {
		t.Errorf("many skipped: %v %d %d", err, d.Folder.SkippedCount, len(d.Folder.Skipped))
	}
	os.WriteFile(filepath.Join(dir, "bee", "notes.txt"), nil, 0o644)
	if _, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "notes.txt: not a PNG or JPEG image") {
		t.Errorf("notes.txt: %v", err)
	}
	os.Remove(filepath.Join(dir, "bee", "notes.txt"))
	os.MkdirAll(filepath.Join(dir, "bee", "more"), 0o755)
	if _, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "a folder inside a class folder") {
		t.Errorf("sub-folder: %v", err)
	}
}

// Numbering sorted folders against a model with another number of outputs
// is allowed but warned about.
func TestFolderCountWarning(t *testing.T) {
	dir := t.TempDir()
	writeClass(t, dir, "ant", 1, 10)
	writeClass(t, dir, "bee", 1, 20)
	for outputs, want := range map[int]string{0: "", 2: "", 3: "has 2 class folders but the model has 3 outputs"} {
		d, err := Open("folder:"+dir, Options{Shape: []int{1, 2, 2}, Outputs: outputs})
		if err != nil || !strings.Contains(d.Folder.CountWarning, want) || (want == "") != (d.Folder.CountWarning == "") || (want != "" && !strings.Contains(d.Folder.CountWarning, "--classes FILE")) {
			t.Errorf("%d outputs: %v, warning %q; want %q", outputs, err, d.Folder.CountWarning, want)
		}
	}
	// A lone WordNet-id folder is label 0, with a warning that says how to fix it.
	wn := t.TempDir()
	writeClass(t, wn, "n02085620", 1, 10)
	d, err := Open("folder:"+wn, Options{Shape: []int{1, 2, 2}, Outputs: 1000})
	if err != nil || d.Labels[0] != 0 || !strings.Contains(d.Folder.CountWarning, "has 1 class folders but the model has 1000 outputs") || !strings.Contains(d.Folder.CountWarning, "WordNet ids") {
		t.Errorf("wnid folder: %v %v %q", err, d.Labels, d.Folder.CountWarning)
	}
}

// A folder with images and no class sub-folders is refused, unless
// Options.Unlabelled asks for it: then its images are the samples, in
// sorted order, all labelled 0, and hidden files are still skipped.
func TestFolderUnlabelled(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []color.NRGBA{{R: 255, A: 255}, {G: 255, A: 255}} {
		img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
		for p := 0; p < 4; p++ {
			img.SetNRGBA(p%2, p/2, c)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFolder(dir, Options{Shape: []int{3, 2, 2}}); err == nil || !strings.Contains(err.Error(), "no class sub-folders") {
		t.Fatalf("a flat folder without Unlabelled: %v", err)
	}
	d, err := OpenFolder(dir, Options{Shape: []int{3, 2, 2}, Unlabelled: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if fmt.Sprint(d.Labels) != "[0 0]" || d.Folder.ClassSource != ClassesNone || d.Folder.SkippedCount != 1 || d.Classes != nil {
		t.Fatalf("labels %v, source %q, skipped %d, classes %v", d.Labels, d.Folder.ClassSource, d.Folder.SkippedCount, d.Classes)
	}
	x := make([]float32, 2*12)
	if err := d.ReadSamples(x, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	if x[0] != 1 || x[4] != 0 || x[12] != 0 || x[12+4] != 1 {
		t.Fatalf("pixels %v: want a red image, then a green one", x)
	}
	if err := d.Check([]int{3, 2, 2}, 0, 0, 1); err != nil {
		t.Fatal(err)
	}
}
