package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestStreamWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.npy")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStreamWriter(f, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	var all []float32
	for k := 0; k < 4; k++ {
		rows := make([]float32, 12*k)
		for i := range rows {
			rows[i] = float32(len(all) + i)
		}
		all = append(all, rows...)
		if err := s.Append(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(make([]float32, 5)); err == nil {
		t.Error("a partial row was accepted")
	}
	if err := s.Finish(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadFile(path, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Shape) != 3 || got.Shape[0] != 12 || got.Shape[1] != 2 || got.Shape[2] != 3 {
		t.Fatalf("shape %v", got.Shape)
	}
	for i, v := range got.F32 {
		if v != all[i] {
			t.Fatalf("value %d: %v, want %v", i, v, all[i])
		}
	}
	// The same bytes as writing the whole array at once.
	var whole bytes.Buffer
	if err := WriteFloat32(&whole, []int{12, 2, 3}, all); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Equal(b, whole.Bytes()) {
		t.Error("streamed file differs from np.save's layout")
	}
}
