// Package zoo embeds the small MNIST classifiers advcheck ships: the default
// model of `advcheck sweep` and reference points for its tests. How each was
// trained, and its accuracy, is recorded in README.md beside them.
package zoo

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.onnx zoo.json
var files embed.FS

// Entry describes one embedded model (zoo.json).
type Entry struct {
	Name          string   `json:"name"`
	File          string   `json:"file"`
	SHA256        string   `json:"sha256"`
	Description   string   `json:"description"`
	Classes       []string `json:"classes"`
	CleanAccuracy float64  `json:"clean_accuracy"`
	Input         struct {
		Shape  []int      `json:"shape"`
		Layout string     `json:"layout"`
		Bounds [2]float64 `json:"bounds"`
	} `json:"input"`
}

func entries() ([]Entry, error) {
	b, err := files.ReadFile("zoo.json")
	if err != nil {
		return nil, err
	}
	var es []Entry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("zoo: zoo.json: %w", err)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	return es, nil
}

// List returns the embedded models sorted by name.
func List() []Entry {
	es, err := entries()
	if err != nil {
		panic(err) // the embedded index is part of the binary
	}
	return es
}

// Open returns the bytes of the model called name, checked against the
// SHA-256 the index records.
func Open(name string) ([]byte, Entry, error) {
	for _, e := range List() {
		if e.Name != name {
			continue
		}
		b, err := files.ReadFile(e.File)
		if err != nil {
			return nil, e, err
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
			return nil, e, fmt.Errorf("zoo: %s has SHA-256 %s, the index says %s", e.File, got, e.SHA256)
		}
		return b, e, nil
	}
	var names []string
	for _, e := range List() {
		names = append(names, e.Name)
	}
	return nil, Entry{}, fmt.Errorf("zoo: no model %q (have %s)", name, strings.Join(names, ", "))
}
