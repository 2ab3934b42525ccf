package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/advcheck/advcheck/internal/atomicfile"
	"github.com/advcheck/advcheck/internal/npy"
)

// AdvWriter saves adversarial examples (--save-adv DIR): one float32 .npy
// per attack and eps, N×C×H×W in the order samples were processed, and
// index.npy with their global indices. Files are written under temporary
// names and renamed into place by Close.
type AdvWriter struct {
	dir   string
	shape []int
	files map[string]*advFile
	order []string
	index []int64
	first string
}

type advFile struct {
	f    *os.File
	s    *npy.StreamWriter
	name string
}

// NewAdvWriter writes into dir (created if missing) samples of the given shape.
func NewAdvWriter(dir string, shape []int) (*AdvWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &AdvWriter{dir: dir, shape: shape, files: map[string]*advFile{}}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._=-]+`)

// AdvFileName is the file that holds an attack's examples at one eps.
func AdvFileName(attackID, norm string, eps float64) string {
	return unsafeName.ReplaceAllString(attackID, "_") + "__" + norm + "_eps" + strconv.FormatFloat(eps, 'g', -1, 64) + ".npy"
}

// Write implements AdvSink.
func (w *AdvWriter) Write(attackID string, e Eps, index []int, adv []float32) error {
	name := AdvFileName(attackID, e.Norm.String(), e.Value)
	af, ok := w.files[name]
	if !ok {
		f, err := atomicfile.CreateTemp(w.dir, name)
		if err != nil {
			return err
		}
		s, err := npy.NewStreamWriter(f, w.shape)
		if err != nil {
			f.Close()
			return err
		}
		af = &advFile{f: f, s: s, name: name}
		w.files[name] = af
		w.order = append(w.order, name)
		if w.first == "" {
			w.first = name
		}
	}
	if name == w.first {
		for _, i := range index {
			w.index = append(w.index, int64(i))
		}
	}
	return af.s.Append(adv)
}

// Close finishes every file and moves it into place.
func (w *AdvWriter) Close() error {
	var first error
	for _, name := range w.order {
		af := w.files[name]
		err := af.s.Finish()
		if err == nil {
			err = af.f.Sync()
		}
		if cerr := af.f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(af.f.Name(), filepath.Join(w.dir, name))
		}
		if err == nil {
			atomicfile.Renamed(af.f.Name())
		} else {
			atomicfile.Remove(af.f.Name())
			if first == nil {
				first = fmt.Errorf("--save-adv %s: %w", name, err)
			}
		}
	}
	var buf bytes.Buffer
	if err := npy.WriteInt64(&buf, []int{len(w.index)}, w.index); err != nil && first == nil {
		first = err
	}
	if err := atomicfile.Write(filepath.Join(w.dir, "index.npy"), buf.Bytes(), 0o644); err != nil && first == nil {
		first = err
	}
	return first
}
