package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/datasets"
)

const jpegTestdata = "../../datasets/testdata/jpeg/small/"

// jpegFolder makes an image folder of two classes, each holding the given
// JPEG bytes twice.
func jpegFolder(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, class := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, class), 0o755)
		for _, name := range []string{"1.jpg", "2.jpg"} {
			if err := os.WriteFile(filepath.Join(dir, class, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// A sweep over JPEGs records the decoder in the report, and a binary
// without libjpeg warns that its pixels are not PIL's.
func TestSweepRecordsJPEGDecoder(t *testing.T) {
	src, err := os.ReadFile(jpegTestdata + "rgb420_16.jpg")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, errs := advcheck(t, "sweep", "--model", "../../testdata/models/depthwise.onnx", "--data", "folder:"+jpegFolder(t, src),
		"--attack", "fgsm", "--eps", "0,1/255", "--checks=false", "--json", out, "-q")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Dataset struct {
			Decoder string `json:"decoder"`
		} `json:"dataset"`
		Flags []struct {
			ID, Severity string
		} `json:"flags"`
	}
	if err := json.Unmarshal([]byte(mustRead(t, out)), &r); err != nil {
		t.Fatal(err)
	}
	if r.Dataset.Decoder != datasets.JPEGDecoder {
		t.Errorf("dataset.decoder %q, want %q", r.Dataset.Decoder, datasets.JPEGDecoder)
	}
	warned := false
	for _, f := range r.Flags {
		warned = warned || (f.ID == "jpeg_not_pil_exact" && f.Severity == "warning")
	}
	if warned == datasets.JPEGPILExact {
		t.Errorf("jpeg_not_pil_exact warning %v with decoder %q", warned, datasets.JPEGDecoder)
	}
}

// `advcheck version` names the JPEG decoder, in text and JSON.
func TestVersionNamesJPEGDecoder(t *testing.T) {
	_, out, _ := advcheck(t, "version")
	if !strings.Contains(out, "jpeg     "+datasets.JPEGDecoder+"\n") {
		t.Errorf("version output has no jpeg line:\n%s", out)
	}
	_, out, _ = advcheck(t, "version", "--json")
	var v struct{ JPEG string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.JPEG != datasets.JPEGDecoder {
		t.Errorf("version --json: jpeg %q, %v", v.JPEG, err)
	}
}

// Damaged and refused JPEGs in a folder end a sweep with exit 3 and one
// line naming the file, never a crash in the decoder.
func TestHostileJPEGs(t *testing.T) {
	src, err := os.ReadFile(jpegTestdata + "rgb420_16.jpg")
	if err != nil {
		t.Fatal(err)
	}
	cmyk, _ := os.ReadFile(jpegTestdata + "cmyk.jpg")
	huge := append([]byte(nil), src...)
	for i := 2; i+9 < len(huge); i += 2 + int(binary.BigEndian.Uint16(huge[i+2:])) {
		if huge[i+1] == 0xC0 { // SOF0: precision, height, width
			binary.BigEndian.PutUint16(huge[i+5:], 50000)
			binary.BigEndian.PutUint16(huge[i+7:], 50000)
			break
		}
	}
	flipped := append([]byte(nil), src...)
	flipped[len(flipped)-1] ^= 0x40 // EOI becomes the unknown marker 0xFF 0x99
	for _, c := range []struct {
		name string
		data []byte
		say  string
	}{
		{"truncated", src[:len(src)/2], "1.jpg"},
		{"bad final marker", flipped, "1.jpg"},
		{"50000×50000 header", huge, "over the limit"},
		{"cmyk", cmyk, "CMYK"},
		{"only a SOI", []byte{0xFF, 0xD8, 0xFF}, "1.jpg"},
	} {
		code, _, errs := advcheck(t, "sweep", "--model", "../../testdata/models/depthwise.onnx", "--data", "folder:"+jpegFolder(t, c.data),
			"--attack", "fgsm", "--eps", "0", "-q")
		if code != 3 || !strings.Contains(errs, c.say) || strings.Count(strings.TrimSpace(errs), "\n") > 0 ||
			strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
			t.Errorf("%s: exit %d, stderr %q; want exit 3, one line saying %q", c.name, code, errs, c.say)
		} else {
			t.Logf("%s: exit %d: %s", c.name, code, strings.TrimSpace(errs))
		}
	}
}
