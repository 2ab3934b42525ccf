package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/advcheck/advcheck/internal/safeio"
	"github.com/advcheck/advcheck/models"
)

// modelHandle is a loaded model with what was checked about its file.
type modelHandle struct {
	model    *models.Classifier
	metadata *modelMetadata
}

// modelMetadata is a M.onnx.metadata.json sidecar: what the model's
// publisher says about it. advcheck checks its hash against the file and
// copies it into the report.
type modelMetadata struct {
	Version   string `json:"version"`
	SHA256    string `json:"sha256"`
	Created   string `json:"created"`
	Framework string `json:"framework"`
}

// readMetadata reads and validates the sidecar of a model file, if any.
func readMetadata(path, sha string) (*modelMetadata, error) {
	side := path + ".metadata.json"
	f, err := safeio.Open(side)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, badInputErr(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, badInputErr(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var m modelMetadata
	if err := dec.Decode(&m); err != nil {
		return nil, badInputErr(fmt.Errorf("%s: %v (want {\"version\", \"sha256\", \"created\", \"framework\"})", side, err))
	}
	if m.SHA256 == "" {
		return nil, badInputErr(fmt.Errorf("%s: no sha256", side))
	}
	if !strings.EqualFold(m.SHA256, sha) {
		return nil, badInputErr(fmt.Errorf("%s says sha256 %s, but %s has sha256 %s", side, m.SHA256, path, sha))
	}
	m.SHA256 = strings.ToLower(m.SHA256)
	return &m, nil
}

func readModelFile(path string, max int64) ([]byte, error) {
	f, err := safeio.Open(path)
	if err != nil {
		return nil, badInputErr(err)
	}
	defer f.Close()
	b, err := safeio.ReadAll(f, max)
	if errors.Is(err, safeio.ErrTooLarge) {
		return nil, badInputErr(fmt.Errorf("%s is over the limit of %d bytes (--max-model-bytes)", path, max))
	}
	if err != nil {
		return nil, badInputErr(err)
	}
	return b, nil
}

// loadModel loads spec, checks a pinned SHA-256 and a required signature,
// and validates a metadata sidecar.
func (o *modelOptions) loadModel(spec, pinned, requireSig string) (*modelHandle, error) {
	isZoo := strings.HasPrefix(spec, "zoo:")
	var m *models.Classifier
	var err error
	if requireSig != "" {
		if isZoo {
			return nil, usageErr(fmt.Errorf("--require-signature needs a model file; %s is embedded in advcheck", spec))
		}
		// Read once: the bytes whose signature is checked are the bytes loaded.
		data, err := readModelFile(spec, o.maxBytes)
		if err != nil {
			return nil, err
		}
		if _, err := verifySignature("--require-signature", spec, data, requireSig); err != nil {
			return nil, err
		}
		c, err := o.contract()
		if err != nil {
			return nil, err
		}
		if m, err = models.Decode(data, c, o.limits()); err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
	} else if m, err = o.load(spec); err != nil {
		return nil, err
	}
	sha := m.Info().SHA256
	if pinned != "" {
		if want := strings.ToLower(strings.TrimSpace(pinned)); sha != want {
			return nil, badInputErr(fmt.Errorf("%s: SHA-256 %s does not match the pinned %s", spec, sha, want))
		}
	}
	h := &modelHandle{model: m}
	if !isZoo {
		if h.metadata, err = readMetadata(spec, sha); err != nil {
			return nil, err
		}
	}
	return h, nil
}
