package main

import (
	"fmt"
	"strings"

	"github.com/advcheck/advcheck/models"
)

// modelHandle is a loaded model with what was checked about its file.
type modelHandle struct {
	model    *models.Classifier
	metadata any
}

// loadModel loads spec and checks a pinned SHA-256.
func (o *modelOptions) loadModel(spec, pinned string) (*modelHandle, error) {
	m, err := o.load(spec)
	if err != nil {
		return nil, err
	}
	if pinned != "" {
		want := strings.ToLower(strings.TrimSpace(pinned))
		if got := m.Info().SHA256; got != want {
			return nil, badInputErr(fmt.Errorf("%s: SHA-256 %s does not match the pinned %s", spec, got, want))
		}
	}
	return &modelHandle{model: m}, nil
}
