package models

import (
	"fmt"
	"strings"

	"github.com/advcheck/advcheck/models/zoo"
)

// Load opens a model by spec: a file path, or zoo:NAME for a model embedded
// in the binary. Zoo models bring their class names unless c has some.
func Load(spec string, c Contract, lim Limits) (*Classifier, error) {
	name, ok := strings.CutPrefix(spec, "zoo:")
	if !ok {
		return Open(spec, c, lim)
	}
	data, entry, err := zoo.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	if c.ClassNames == nil {
		c.ClassNames = entry.Classes
	}
	m, err := Decode(data, c, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec, err)
	}
	return m, nil
}
