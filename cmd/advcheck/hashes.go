package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/advcheck/advcheck/datasets"
	"github.com/advcheck/advcheck/internal/safeio"
	"github.com/advcheck/advcheck/models/zoo"
	"github.com/advcheck/advcheck/reports"
)

// fileSHA256 hashes a model file, or the bytes of an embedded zoo:NAME model.
func fileSHA256(spec string) (string, error) {
	if name, ok := strings.CutPrefix(spec, "zoo:"); ok {
		b, _, err := zoo.Open(name)
		if err != nil {
			return "", badInputErr(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:]), nil
	}
	f, err := safeio.Open(spec)
	if err != nil {
		return "", badInputErr(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", badInputErr(err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dataSHA256 decodes the data set as the report's run did (same limit and
// layout, and the resize and crop the report records) and returns the hash
// of the decoded samples.
func dataSHA256(o *verifyOptions, r *reports.Report) (string, error) {
	var pp datasets.Preprocess
	if p := r.Dataset.Preprocess; p != nil {
		pp = datasets.Preprocess{Resize: p.Resize, CenterCrop: p.CenterCrop}
		if err := pp.Check(); err != nil {
			return "", badInputErr(fmt.Errorf("the report's dataset.preprocess: %w", err))
		}
	}
	d, err := datasets.Open(o.data, datasets.Options{Limit: r.Config.Limit, Layout: o.dataLayout, Shape: r.Dataset.Shape, ClassFile: o.classes, Preprocess: pp,
		Unlabelled: r.Config.Task == reports.TaskEmbedding})
	if err != nil {
		return "", dataErr(fmt.Errorf("--data: %w", err))
	}
	defer d.Close()
	sum, err := d.SHA256()
	if err != nil {
		return "", dataErr(fmt.Errorf("--data: %w", err))
	}
	return sum, nil
}
