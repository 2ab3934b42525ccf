package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// folderDataset is the dataset block of an image folder read with a partial
// classes.json, a linked class folder and skipped junk.
func folderDataset() Dataset {
	return Dataset{Spec: "folder:imgs", SHA256Decoded: sha64, LabelSource: "truth", Scaling: "uint8/255", Shape: []int{1, 28, 28},
		ClassMap: &ClassMap{Source: "classes.json", File: "imgs/classes.json", Classes: []ClassLabel{
			{Folder: "chihuahua", Label: 151, Images: 2}, {Folder: "tabby", Label: 281, Images: 1, Symlink: "/data/cats"}}},
		Skipped:     &Skipped{Count: 2, Names: []string{"Thumbs.db", "tabby/.DS_Store"}},
		LinkedFiles: &LinkedFiles{Count: 1, Links: []Symlink{{Path: "chihuahua/a.png", Target: "../cache/a.png"}}},
		Notes:       []string{"imgs/classes.txt was not read: --classes wnids.txt gives the mapping"}}
}

// A flag raised on the inputs (a class count that does not match the model)
// survives the evaluation, shard merging and re-reading; the folder's
// dataset block follows the schema and round-trips.
func TestInputFlagsAndFolderDataset(t *testing.T) {
	m, src := fixture(t, 9)
	p := plan(t, m, src, "fgsm")
	classFlag := Flag{ID: FlagClassCount, Severity: "warning", Message: "imgs has 2 class folders but the model has 10 outputs"}
	base := Report{Run: RunOf(timeZero, []string{"advcheck", "sweep"}), Model: ModelOf("m.onnx", m), Dataset: folderDataset(), Flags: []Flag{classFlag}}
	base.Model.SHA256 = sha64
	r, err := Evaluate(context.Background(), p, base, nil, timeZero)
	if err != nil {
		t.Fatal(err)
	}
	count := func(r *Report) int {
		n := 0
		for _, f := range r.Flags {
			if f == classFlag {
				n++
			}
		}
		return n
	}
	if count(r) != 1 {
		t.Fatalf("flags after Evaluate %v; want the class flag once", r.Flags)
	}
	b := encode(t, r)
	s := compileSchema(t)
	validate(t, s, "folder report", b)
	back, err := Read(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Dataset, r.Dataset) || count(back) != 1 {
		t.Errorf("read back dataset %+v flags %v", back.Dataset, back.Flags)
	}
	// Two shards of the same run merge into one report with the flag once.
	var parts []*Report
	for i := 0; i < 2; i++ {
		q := plan(t, m, src, "fgsm")
		q.Shard = Shard{I: i, N: 2}
		part, err := Evaluate(context.Background(), q, base, nil, timeZero)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part)
	}
	merged, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if count(merged) != 1 || !reflect.DeepEqual(merged.Dataset.ClassMap, r.Dataset.ClassMap) {
		t.Errorf("merged flags %v class map %+v", merged.Flags, merged.Dataset.ClassMap)
	}
	// The schema refuses a malformed class map.
	for name, edit := range map[string]func(ds map[string]any){
		"negative label": func(ds map[string]any) {
			ds["class_map"].(map[string]any)["classes"].([]any)[0].(map[string]any)["label"] = -1
		},
		"unknown source": func(ds map[string]any) { ds["class_map"].(map[string]any)["source"] = "guess" },
		"no label": func(ds map[string]any) {
			delete(ds["class_map"].(map[string]any)["classes"].([]any)[1].(map[string]any), "label")
		},
		"names uncapped": func(ds map[string]any) { ds["skipped"].(map[string]any)["names"] = make([]any, 21) },
	} {
		var v map[string]any
		json.Unmarshal(b, &v)
		edit(v["dataset"].(map[string]any))
		bad, _ := json.Marshal(v)
		doc, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
		if s.Validate(doc) == nil {
			t.Errorf("%s: the schema accepted it", name)
		}
	}
}
