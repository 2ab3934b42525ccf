package reports

import (
	gobuild "go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/advcheck/advcheck"

// TestImportGraph keeps the dependency direction of the report packages:
// the document and the plan execution (package reports) import none of
// their sub-packages (render, gate, ...), which may import reports; and the
// layers below the reports (models, attacks, metrics, datasets, internal)
// import no report package at all. Test files count too.
func TestImportGraph(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	below := []string{"models", "attacks", "metrics", "datasets"}
	checked := 0
	seen := map[string]bool{}
	for _, tags := range [][]string{nil, {"openblas", "libjpeg"}} {
		ctx := gobuild.Default
		ctx.BuildTags = tags
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			rel = filepath.ToSlash(rel)
			name := d.Name()
			if rel != "." && (name == "testdata" || name == "data" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			pkg, err := ctx.ImportDir(path, 0)
			if err != nil {
				if _, ok := err.(*gobuild.NoGoError); ok {
					return nil
				}
				return err
			}
			checked++
			imports := append(append(append([]string(nil), pkg.Imports...), pkg.TestImports...), pkg.XTestImports...)
			for _, imp := range imports {
				sub, ok := strings.CutPrefix(imp, module+"/")
				if !ok {
					continue
				}
				if seen[rel+" "+imp] {
					continue
				}
				seen[rel+" "+imp] = true
				if rel == "reports" && strings.HasPrefix(sub, "reports/") {
					t.Errorf("package reports imports its sub-package %s: sub-packages import reports, never the reverse", imp)
				}
				for _, b := range below {
					if (rel == b || strings.HasPrefix(rel, b+"/")) && (sub == "reports" || strings.HasPrefix(sub, "reports/")) {
						t.Errorf("%s imports %s: the layers below the reports never import them", rel, imp)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 20 {
		t.Fatalf("only %d packages found under %s", checked, root)
	}
}
