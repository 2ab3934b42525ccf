package datasets

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/advcheck/advcheck/internal/safeio"
)

// CIFARHome is where the CIFAR-10 and CIFAR-100 files come from: the
// "binary version" tarballs on the data sets' home page at the University
// of Toronto. advcheck never downloads them.
const CIFARHome = "https://www.cs.toronto.edu/~kriz/cifar.html"

// CIFAR10Classes are CIFAR-10's class names in label order.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// cifarPixels is the size of one CIFAR image: 3 planes (R, G, B) of 32×32
// bytes, each row-major, which is already C×H×W order.
const cifarPixels = 3 * 32 * 32

// cifarFormat is one of the two binary CIFAR record layouts.
type cifarFormat struct {
	name    string // in messages: "CIFAR-10"
	spec    string // the spec kind: "cifar10"
	file    string // the test split's file in the extracted folder
	tarball string // the tarball users download
	folder  string // the folder it extracts to
	layout  string // a record's layout, in messages
	// labels are the label bytes before the pixels; the label is
	// labels[use]; every label byte k must be below labels[k].
	labels []int
	use    int
}

var (
	cifar10 = cifarFormat{name: "CIFAR-10", spec: "cifar10", file: "test_batch.bin",
		tarball: "cifar-10-binary.tar.gz", folder: "cifar-10-batches-bin", labels: []int{10},
		layout: "a label byte, then 3×32×32 pixel bytes"}
	// CIFAR-100 records hold the coarse label (20 superclasses), then the
	// fine label (100 classes); advcheck uses the fine one, as torchvision's
	// CIFAR100 and the robustness benchmarks do.
	cifar100 = cifarFormat{name: "CIFAR-100", spec: "cifar100", file: "test.bin",
		tarball: "cifar-100-binary.tar.gz", folder: "cifar-100-binary", labels: []int{20, 100}, use: 1,
		layout: "coarse and fine label bytes, then 3×32×32 pixel bytes"}
)

func (c cifarFormat) record() int64 { return int64(len(c.labels) + cifarPixels) }

// OpenCIFAR10 reads the binary version of CIFAR-10: path is the extracted
// folder (cifar-10-batches-bin, whose test_batch.bin is read) or one batch
// file (e.g. data_batch_1.bin). A file is a sequence of 3,073-byte records:
// the label (0…9), then 3,072 pixel bytes, the red plane, then green, then
// blue, each 32×32 row-major. Samples are 3×32×32, scaled by 1/255, with the
// CIFAR-10 class names; the same images and labels as a uint8 N×3×32×32
// .npy file with int64 labels have the same decoded-data hash.
func OpenCIFAR10(path string, opts Options) (*Dataset, error) {
	return openCIFAR(cifar10, path, opts)
}

// OpenCIFAR100 reads the binary version of CIFAR-100 as OpenCIFAR10 reads
// CIFAR-10: path is the extracted folder (cifar-100-binary, whose test.bin
// is read) or one file (e.g. train.bin). Records are 3,074 bytes: the coarse
// label (0…19), the fine label (0…99), then the pixels. The label of a
// sample is its fine label. Class names come from fine_label_names.txt
// beside the file when it is there (the tarball ships it); advcheck holds no
// copy of CIFAR-100's names.
func OpenCIFAR100(path string, opts Options) (*Dataset, error) {
	return openCIFAR(cifar100, path, opts)
}

func openCIFAR(c cifarFormat, path string, opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	file, err := c.find(path)
	if err != nil {
		return nil, err
	}
	f, err := safeio.Open(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	h := sha256.New()
	d, err := readCIFAR(c, io.TeeReader(f, h), st.Size(), file, opts.Limit, lim)
	if err != nil {
		return nil, err
	}
	d.src.(*rawReader).path = file
	d.Files = []File{{Path: file, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: st.Size()}}
	if c.use == 0 {
		d.Classes = append([]string(nil), CIFAR10Classes...)
		return d, nil
	}
	d.Notes = append(d.Notes, fmt.Sprintf("labels are %s's fine labels (0…%d); the coarse labels (0…%d) were checked but not used", c.name, c.labels[1]-1, c.labels[0]-1))
	names := filepath.Join(filepath.Dir(file), "fine_label_names.txt")
	if _, err := os.Lstat(names); errors.Is(err, fs.ErrNotExist) {
		d.Notes = append(d.Notes, "no class names: "+names+" is not there")
		return d, nil
	}
	b, err := readSmall(names, "class names: ")
	if err != nil {
		return nil, err
	}
	list, err := parseClassList(b, names)
	if err != nil {
		return nil, err
	}
	if len(list) != c.labels[c.use] {
		return nil, fmt.Errorf("%w: %s: %d class names; %s has %d", ErrBadData, names, len(list), c.name, c.labels[c.use])
	}
	d.Classes = list
	d.Files = append(d.Files, fileHash(names))
	return d, nil
}

// find returns the data file path names: path itself, or the test split's
// file when path is a folder.
func (c cifarFormat) find(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v (%s:DIR wants the folder %s extracted from %s, the binary version at %s)", ErrBadData, err, c.spec, c.folder, c.tarball, CIFARHome)
	}
	if !st.IsDir() {
		return path, nil
	}
	file := filepath.Join(path, c.file)
	if _, err := os.Stat(file); err == nil {
		return file, nil
	}
	hint := ""
	if _, err := os.Stat(filepath.Join(path, "test_batch")); err == nil || c.use == 1 && exists(filepath.Join(path, "test")) {
		hint = "; this looks like the Python version, whose pickle files advcheck never reads"
	}
	return "", fmt.Errorf("%w: %s: no %s (extract %s, the binary version of %s from %s)%s", ErrBadData, path, c.file, c.tarball, c.name, CIFARHome, hint)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readCIFAR reads size bytes of CIFAR records from r, keeping the labels of
// the first keep records (0 = all). Every record's labels are checked, kept
// or not, and r is read to its end (so that a hash of it covers the whole
// file). Limits are checked against size before anything is allocated. The
// pixels are not kept: the data set's reader reads them by offset from the
// file, which the caller sets (rawReader.path).
func readCIFAR(c cifarFormat, r io.Reader, size int64, name string, keep int, lim Limits) (*Dataset, error) {
	rec := c.record()
	if size > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the limit of %d (--max-data-bytes)", ErrBadData, name, size, lim.MaxBytes)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	// A first label byte of 0x80 is never valid; with a protocol number
	// after it, it is the Python version of the data set.
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5 {
		return nil, fmt.Errorf("%w: %s is a Python pickle; advcheck reads only the binary version of %s (%s), never pickles", ErrBadData, name, c.name, c.tarball)
	}
	switch {
	case size == 0:
		return nil, fmt.Errorf("%w: %s is empty", ErrBadData, name)
	case size%rec != 0:
		return nil, fmt.Errorf("%w: %s: %d bytes is not a whole number of %d-byte %s records (%s): truncated, or not the binary version of %s", ErrBadData, name, size, rec, c.name, c.layout, c.name)
	}
	n := size / rec
	if n > int64(lim.MaxSamples) {
		return nil, fmt.Errorf("%w: %s: %d samples, over the limit of %d", ErrBadData, name, n, lim.MaxSamples)
	}
	if keep <= 0 || int64(keep) > n {
		keep = int(n)
	}
	if int64(keep)*cifarPixels > lim.MaxElements {
		return nil, fmt.Errorf("%w: %s: %d samples of 3×32×32 are %d values, over the limit of %d", ErrBadData, name, keep, int64(keep)*cifarPixels, lim.MaxElements)
	}
	d := &Dataset{Shape: []int{3, 32, 32}, Scaling: "uint8/255", Labels: make([]int, keep),
		src: &rawReader{stride: rec, skip: int64(len(c.labels)), elems: cifarPixels, elemSize: 1, conv: u8Scaled}}
	buf := make([]byte, rec)
	for i := int64(0); i < n; i++ {
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("%w: %s: truncated in record %d of %d (the file shrank while it was read)", ErrBadData, name, i, n)
		}
		for k, max := range c.labels {
			if int(buf[k]) < max {
				continue
			}
			return nil, fmt.Errorf("%w: %s: record %d has label byte %d = %d, outside %s's 0…%d", ErrBadData, name, i, k, buf[k], c.name, max-1)
		}
		if i >= int64(keep) {
			continue
		}
		d.Labels[i] = int(buf[c.use])
	}
	if k, _ := br.Read(buf[:1]); k > 0 {
		return nil, fmt.Errorf("%w: %s: more than %d bytes (the file grew while it was read)", ErrBadData, name, size)
	}
	return d, nil
}
