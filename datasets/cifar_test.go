package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Files written by testdata/gen_cifar.py.
const (
	cifarDir     = "../testdata/cifar/"
	cifar10Dir   = cifarDir + "cifar-10-batches-bin"
	cifar100Dir  = cifarDir + "cifar-100-binary"
	cifar10File  = cifar10Dir + "/test_batch.bin"
	cifar100File = cifar100Dir + "/test.bin"
)

func mustOpen(t *testing.T, spec string, opts Options) *Dataset {
	t.Helper()
	d, err := Open(spec, opts)
	if err != nil {
		t.Fatalf("%s: %v", spec, err)
	}
	return d
}

// The binary CIFAR files and the same images as .npy (written by numpy)
// decode to the same data hash, whole and under --limit, given as a
// folder or as the file; CIFAR-100 is labelled by its fine labels.
func TestCIFARSameHashAsNPY(t *testing.T) {
	for _, c := range []struct {
		specs []string
		npy   string
		n     int
	}{
		{[]string{"cifar10:" + cifar10Dir, "cifar10:" + cifar10File}, "npy:" + cifarDir + "cifar10_x.npy," + cifarDir + "cifar10_y.npy", 20},
		{[]string{"cifar100:" + cifar100Dir, "cifar100:" + cifar100File}, "npy:" + cifarDir + "cifar100_x.npy," + cifarDir + "cifar100_y.npy", 8},
	} {
		for _, limit := range []int{0, 5} {
			ref := mustOpen(t, c.npy, Options{Limit: limit})
			for _, spec := range c.specs {
				d := mustOpen(t, spec, Options{Limit: limit})
				want := c.n
				if limit > 0 {
					want = limit
				}
				if d.Len() != want || !equalInts(d.Shape, []int{3, 32, 32}) || d.Scaling != "uint8/255" {
					t.Errorf("%s limit %d: %d samples of %v (%s); want %d of [3 32 32] (uint8/255)", spec, limit, d.Len(), d.Shape, d.Scaling, want)
				}
				if hashOf(t, d) != hashOf(t, ref) {
					t.Errorf("%s limit %d: data hash %s, the .npy copy's is %s (labels %v, want %v)", spec, limit, hashOf(t, d), hashOf(t, ref), d.Labels, ref.Labels)
				}
			}
		}
	}
	d := mustOpen(t, "cifar100:"+cifar100Dir, Options{})
	if want := []int{57, 3, 99, 10, 0, 42, 7, 88}; !equalInts(d.Labels, want) {
		t.Errorf("CIFAR-100 labels %v, want the fine labels %v", d.Labels, want)
	}
}

// The source file is recorded with the SHA-256 of all its bytes, also
// when --limit keeps fewer records.
func TestCIFARFileHash(t *testing.T) {
	b, err := os.ReadFile(cifar10File)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	d := mustOpen(t, "cifar10:"+cifar10Dir, Options{Limit: 3})
	want := File{Path: filepath.Join(cifar10Dir, "test_batch.bin"), SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(b))}
	if len(d.Files) != 1 || d.Files[0] != want {
		t.Errorf("files %+v, want %+v", d.Files, want)
	}
}

// Each record is the label, then the red, green and blue planes: records 0,
// 1 and 2 of the generated file are pure red, green and blue.
func TestCIFARPixelLayout(t *testing.T) {
	d := mustOpen(t, "cifar10:"+cifar10Dir, Options{Limit: 3})
	for i := 0; i < 3; i++ {
		x := sampleOf(t, d, i)
		for c := 0; c < 3; c++ {
			want := float32(0)
			if c == i {
				want = 1
			}
			for p, v := range x[c*1024 : (c+1)*1024] {
				if v != want {
					t.Fatalf("sample %d, channel %d, pixel (%d, %d) = %v, want %v", i, c, p/32, p%32, v, want)
				}
			}
		}
	}
}

func TestCIFARClassNames(t *testing.T) {
	d := mustOpen(t, "cifar10:"+cifar10Dir, Options{})
	if strings.Join(d.Classes, ",") != "airplane,automobile,bird,cat,deer,dog,frog,horse,ship,truck" {
		t.Errorf("CIFAR-10 classes %q", d.Classes)
	}

	// CIFAR-100 without fine_label_names.txt: no names, and notes that say
	// which label is used and why there are no names.
	d = mustOpen(t, "cifar100:"+cifar100Dir, Options{})
	notes := strings.Join(d.Notes, "; ")
	if d.Classes != nil || !strings.Contains(notes, "fine labels (0…99)") || !strings.Contains(notes, "fine_label_names.txt is not there") {
		t.Errorf("classes %q, notes %q", d.Classes, notes)
	}

	// With it (the tarball ships one), its 100 names, hashed as a source.
	dir := t.TempDir()
	copyTo(t, cifar100File, filepath.Join(dir, "test.bin"))
	var names bytes.Buffer
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&names, "class_%02d\n", i)
	}
	names.WriteString("\n\n") // the real file ends in blank lines
	os.WriteFile(filepath.Join(dir, "fine_label_names.txt"), names.Bytes(), 0o644)
	d = mustOpen(t, "cifar100:"+dir, Options{})
	if len(d.Classes) != 100 || d.Classes[57] != "class_57" || len(d.Files) != 2 || !strings.HasSuffix(d.Files[1].Path, "fine_label_names.txt") {
		t.Errorf("classes %q, files %+v", d.Classes, d.Files)
	}
	// The hash is of samples and labels: names do not change it.
	if ref := mustOpen(t, "cifar100:"+cifar100Dir, Options{}); hashOf(t, d) != hashOf(t, ref) {
		t.Error("class names changed the data hash")
	}

	// A list of another length, or one that is not a file, is refused.
	os.WriteFile(filepath.Join(dir, "fine_label_names.txt"), []byte("apple\nbee\n"), 0o644)
	if _, err := Open("cifar100:"+dir, Options{}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "2 class names; CIFAR-100 has 100") {
		t.Errorf("2 names: %v", err)
	}
	os.Remove(filepath.Join(dir, "fine_label_names.txt"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fine_label_names.txt"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	start := time.Now()
	if _, err := Open("cifar100:"+dir, Options{}); !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), "named pipe") || time.Since(start) > 10*time.Second {
		t.Errorf("names file a named pipe: %v after %v", err, time.Since(start))
	}
}

func copyTo(t *testing.T, from, to string) []byte {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// Damaged and hostile CIFAR files are refused with ErrBadData and a
// message that says what is wrong; none hangs or panics.
func TestCIFARBadFiles(t *testing.T) {
	good, err := os.ReadFile(cifar10File)
	if err != nil {
		t.Fatal(err)
	}
	good100, err := os.ReadFile(cifar100File)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edit := func(b []byte, at int, v byte) []byte {
		b = append([]byte(nil), b...)
		b[at] = v
		return b
	}
	fifo := filepath.Join(dir, "pipe.bin")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	fifoDir := filepath.Join(dir, "fifodir")
	os.Mkdir(fifoDir, 0o755)
	syscall.Mkfifo(filepath.Join(fifoDir, "test_batch.bin"), 0o644)
	pyDir := filepath.Join(dir, "cifar-10-batches-py")
	os.Mkdir(pyDir, 0o755)
	write("cifar-10-batches-py/test_batch", []byte("\x80\x02}q\x00"))
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	for _, c := range []struct {
		name, spec string
		opts       Options
		say        string
	}{
		{"one byte short", "cifar10:" + write("short.bin", good[:len(good)-1]), Options{}, "61459 bytes is not a whole number of 3073-byte CIFAR-10 records"},
		{"one byte over", "cifar10:" + write("long.bin", append(append([]byte(nil), good...), 0)), Options{}, "not a whole number of 3073-byte"},
		{"CIFAR-100 read as CIFAR-10", "cifar10:" + cifar100File, Options{}, "not a whole number of 3073-byte"},
		{"CIFAR-10 read as CIFAR-100", "cifar100:" + cifar10File, Options{}, "not a whole number of 3074-byte CIFAR-100 records"},
		{"empty file", "cifar10:" + write("empty.bin", nil), Options{}, "is empty"},
		{"label 10", "cifar10:" + write("label10.bin", edit(good, 3*3073, 10)), Options{}, "record 3 has label byte 0 = 10, outside CIFAR-10's 0…9"},
		{"label 255 past --limit", "cifar10:" + write("label255.bin", edit(good, 19*3073, 255)), Options{Limit: 2}, "record 19 has label byte 0 = 255"},
		{"coarse label 20", "cifar100:" + write("coarse.bin", edit(good100, 3074, 20)), Options{}, "record 1 has label byte 0 = 20, outside CIFAR-100's 0…19"},
		{"fine label 100", "cifar100:" + write("fine.bin", edit(good100, 7*3074+1, 100)), Options{}, "record 7 has label byte 1 = 100, outside CIFAR-100's 0…99"},
		{"pickle file", "cifar10:" + filepath.Join(pyDir, "test_batch"), Options{}, "is a Python pickle; advcheck reads only the binary version of CIFAR-10 (cifar-10-binary.tar.gz), never pickles"},
		{"python version folder", "cifar10:" + pyDir, Options{}, "no test_batch.bin (extract cifar-10-binary.tar.gz, the binary version of CIFAR-10 from " + CIFARHome + "); this looks like the Python version"},
		{"folder without the file", "cifar100:" + empty, Options{}, "no test.bin (extract cifar-100-binary.tar.gz"},
		{"no such path", "cifar10:" + filepath.Join(dir, "nothing"), Options{}, "wants the folder cifar-10-batches-bin extracted from cifar-10-binary.tar.gz"},
		{"named pipe as file", "cifar10:" + fifo, Options{}, "is a named pipe, not a regular file"},
		{"named pipe in folder", "cifar10:" + fifoDir, Options{}, "is a named pipe, not a regular file"},
		{"over --max-data-bytes", "cifar10:" + cifar10Dir, Options{Limits: Limits{MaxBytes: 3073*20 - 1}}, "61460 bytes, over the limit of 61459"},
		{"over the sample limit", "cifar10:" + cifar10Dir, Options{Limits: Limits{MaxSamples: 19}}, "20 samples, over the limit of 19"},
		{"over the value limit", "cifar10:" + cifar10Dir, Options{Limits: Limits{MaxElements: 3072*20 - 1}}, "20 samples of 3×32×32 are 61440 values, over the limit of 61439"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := Open(c.spec, c.opts)
			if !errors.Is(err, ErrBadData) || !strings.Contains(err.Error(), c.say) {
				t.Errorf("%s: %v; want ErrBadData saying %q", c.spec, err, c.say)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	// Within the limits exactly, the file reads.
	mustOpen(t, "cifar10:"+cifar10Dir, Options{Limits: Limits{MaxBytes: 3073 * 20, MaxSamples: 20, MaxElements: 3072 * 20}})
	// --limit bounds the values allocated, not the file.
	mustOpen(t, "cifar10:"+cifar10Dir, Options{Limit: 2, Limits: Limits{MaxElements: 3072 * 2}})
	if _, err := Open("cifar10:", Options{}); !errors.Is(err, ErrSpec) {
		t.Errorf("cifar10 without a path: %v", err)
	}
}

// FuzzCIFAR: any bytes, read as CIFAR-10 or CIFAR-100 with or without a
// limit, decode to whole 3×32×32 samples in [0, 1] with labels in range, or
// fail with ErrBadData; never a panic.
func FuzzCIFAR(f *testing.F) {
	good, _ := os.ReadFile(cifar10File)
	f.Add(good[:2*3073], false, 0)
	f.Add(good[:3*3073], true, 1)
	f.Add(good[:3073+7], false, 0)
	f.Add([]byte("\x80\x02}q\x00"), true, 0)
	f.Fuzz(func(t *testing.T, data []byte, hundred bool, keep int) {
		c, classes := cifar10, 10
		if hundred {
			c, classes = cifar100, 100
		}
		lim := Limits{MaxBytes: 1 << 20, MaxSamples: 64, MaxElements: 1 << 18}
		d, err := readCIFAR(c, bytes.NewReader(data), int64(len(data)), "fuzz", keep%8, lim)
		if err != nil {
			if !errors.Is(err, ErrBadData) {
				t.Fatal(err)
			}
			return
		}
		d.src.(*rawReader).mem = data
		if len(pixels(t, d)) != d.Len()*cifarPixels || d.Len() == 0 || int64(d.Len()) > int64(len(data))/c.record() {
			t.Fatalf("%d samples, %d values from %d bytes", d.Len(), len(pixels(t, d)), len(data))
		}
		for _, l := range d.Labels {
			if l < 0 || l >= classes {
				t.Fatalf("label %d", l)
			}
		}
		for _, v := range pixels(t, d) {
			if v < 0 || v > 1 {
				t.Fatalf("pixel %v", v)
			}
		}
	})
}
