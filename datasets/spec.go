package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Open reads the data set named by spec:
//
//	mnist-sample          the first 1,000 MNIST test images, embedded in advcheck
//	mnist:DIR             the MNIST test split in DIR (t10k-images-idx3-ubyte and
//	                      t10k-labels-idx1-ubyte, plain or .gz), e.g. from `make data`
//	idx:IMAGES,LABELS     any IDX image and label files, plain or gzip
//	npy:X.npy,Y.npy       NumPy arrays (see OpenNPY for shapes and types)
//	npz:FILE.npz          a NumPy archive with members x and y (or images and labels)
//	cifar10:DIR           CIFAR-10's test_batch.bin in DIR, the binary version (see OpenCIFAR10);
//	cifar10:FILE.bin      or another batch file of it
//	cifar100:DIR          CIFAR-100's test.bin in DIR, the binary version, fine labels (see
//	cifar100:FILE.bin     OpenCIFAR100); or another file of it
//	folder:DIR            one sub-folder of PNG/JPEG images per class (see OpenFolder)
func Open(spec string, opts Options) (*Dataset, error) {
	opts.Limits = opts.Limits.withDefaults()
	switch l := strings.ToLower(opts.Layout); l {
	case "", "nchw", "nhwc":
		opts.Layout = l
	default:
		return nil, fmt.Errorf("%w: layout %q: want nchw or nhwc", ErrSpec, opts.Layout)
	}
	if opts.Limit < 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrSpec, opts.Limit)
	}
	kind, arg, _ := strings.Cut(spec, ":")
	if opts.ClassFile != "" && kind != "folder" {
		return nil, fmt.Errorf("%w: a class list (--classes) applies only to folder:DIR data, not %q", ErrSpec, spec)
	}
	if !opts.Preprocess.IsZero() && kind != "folder" {
		return nil, fmt.Errorf("%w: resizing and cropping (--resize, --center-crop) apply only to folder:DIR data, not %q", ErrSpec, spec)
	}
	var d *Dataset
	var err error
	two := func() (string, string, error) {
		a, b, ok := strings.Cut(arg, ",")
		if !ok || a == "" || b == "" {
			return "", "", fmt.Errorf("%w: %q: want %s:IMAGES,LABELS", ErrSpec, spec, kind)
		}
		return a, b, nil
	}
	switch kind {
	case "mnist-sample":
		if arg != "" {
			return nil, fmt.Errorf("%w: %q: mnist-sample takes no argument", ErrSpec, spec)
		}
		d, err = openSample(opts)
	case "mnist":
		if arg == "" {
			return nil, fmt.Errorf("%w: %q: want mnist:DIR (the directory of t10k-images-idx3-ubyte)", ErrSpec, spec)
		}
		imgs, err1 := findIDX(arg, "t10k-images-idx3-ubyte")
		lbls, err2 := findIDX(arg, "t10k-labels-idx1-ubyte")
		if err1 != nil {
			return nil, err1
		}
		if err2 != nil {
			return nil, err2
		}
		d, err = OpenIDX(imgs, lbls, opts)
	case "idx":
		a, b, e := two()
		if e != nil {
			return nil, e
		}
		d, err = OpenIDX(a, b, opts)
	case "npy":
		a, b, e := two()
		if e != nil {
			return nil, e
		}
		d, err = OpenNPY(a, b, opts)
	case "npz":
		if arg == "" {
			return nil, fmt.Errorf("%w: %q: want npz:FILE.npz", ErrSpec, spec)
		}
		d, err = OpenNPZ(arg, opts)
	case "cifar10", "cifar100":
		if arg == "" {
			return nil, fmt.Errorf("%w: %q: want %s:DIR (the extracted binary version) or %s:FILE.bin", ErrSpec, spec, kind, kind)
		}
		if kind == "cifar10" {
			d, err = OpenCIFAR10(arg, opts)
		} else {
			d, err = OpenCIFAR100(arg, opts)
		}
	case "folder":
		if arg == "" {
			return nil, fmt.Errorf("%w: %q: want folder:DIR", ErrSpec, spec)
		}
		d, err = OpenFolder(arg, opts)
	default:
		return nil, fmt.Errorf("%w: %q: want mnist-sample, mnist:DIR, idx:IMAGES,LABELS, npy:X.npy,Y.npy, npz:FILE.npz, cifar10:DIR, cifar100:DIR or folder:DIR", ErrSpec, spec)
	}
	if err != nil {
		return nil, err
	}
	d.Spec = spec
	d.limit(opts.Limit)
	if d.Len() == 0 {
		return nil, fmt.Errorf("%w: %s: no samples", ErrBadData, d.source())
	}
	return d, nil
}

// findIDX finds name or name.gz in dir.
func findIDX(dir, name string) (string, error) {
	for _, n := range []string{name, name + ".gz"} {
		p := filepath.Join(dir, n)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s: no %s or %s.gz (fetch the full MNIST with `make data`)", ErrBadData, dir, name, name)
}
