package datasets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
)

// The first 1,000 images of the MNIST test set (t10k), as gzipped IDX files.
// See MNIST-ATTRIBUTION.md.
//
//go:embed mnistsample/*.gz
var sample embed.FS

const (
	sampleImages = "mnistsample/t10k-1000-images-idx3-ubyte.gz"
	sampleLabels = "mnistsample/t10k-1000-labels-idx1-ubyte.gz"
)

func openSample(opts Options) (*Dataset, error) {
	lim := opts.Limits.withDefaults()
	read := func(name string, max int64) (*idxArray, File, error) {
		b, err := sample.ReadFile(name)
		if err != nil {
			return nil, File{}, err
		}
		sum := sha256.Sum256(b)
		f := File{Path: "embedded:" + name, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(len(b))}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, f, err
		}
		a, err := readIDX(io.LimitReader(zr, lim.MaxBytes+1), name, max, lim.MaxBytes)
		return a, f, err
	}
	ia, fi, err := read(sampleImages, lim.MaxElements)
	if err != nil {
		return nil, fmt.Errorf("datasets: the embedded MNIST sample: %w", err)
	}
	la, fl, err := read(sampleLabels, int64(lim.MaxSamples))
	if err != nil {
		return nil, fmt.Errorf("datasets: the embedded MNIST sample: %w", err)
	}
	d, err := fromIDX(ia, la, sampleImages, sampleLabels, lim)
	if err != nil {
		return nil, err
	}
	d.Files = []File{fi, fl}
	return d, nil
}
