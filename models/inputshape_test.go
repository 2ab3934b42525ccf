package models_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// A model exported with dynamic height and width loads only with an input
// shape, and then computes PyTorch's logits and input gradient at every size.
func TestInputShapeGoldens(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"dyn_hw", "dyn_hw_paddle"} {
		for _, hw := range [][2]int{{32, 32}, {20, 28}} {
			tag := fmt.Sprintf("%dx%d", hw[0], hw[1])
			shape := []int{3, hw[0], hw[1]}
			m := open(t, name, models.Contract{InputShape: shape})
			if got := m.Spec().Shape; !slices.Equal(got, shape) {
				t.Fatalf("%s %s: spec shape %v", name, tag, got)
			}
			if got := m.Info().InputShape; !slices.Equal(got, []int{-1, 3, hw[0], hw[1]}) {
				t.Errorf("%s %s: info input shape %v", name, tag, got)
			}
			if notes := strings.Join(m.Info().Notes, "; "); !strings.Contains(notes, "input_shape 3,"+fmt.Sprint(hw[0])) {
				t.Errorf("%s %s: notes %q do not record the input shape", name, tag, notes)
			}
			x := golden(t, "dynamic", "x_"+tag).Float32s()
			y := labelsOf(t, golden(t, "dynamic", "y_"+tag))
			wantZ := golden(t, "dynamic", "logits_"+tag).Float64s()
			wantG := golden(t, "dynamic", "grad_"+tag).Float64s()
			n := len(y)
			z := make([]float32, n*5)
			g := make([]float32, len(x))
			if err := m.LossGradient(ctx, x, n, models.Objective{Loss: models.CrossEntropy, Labels: y}, g, z, nil); err != nil {
				t.Fatal(err)
			}
			if e := relErr(z, wantZ); e > 1e-5 {
				t.Errorf("%s %s: logits relative error %.3g", name, tag, e)
			}
			if e := relErr(g, wantG); e > 1e-5 {
				t.Errorf("%s %s: gradient relative error %.3g", name, tag, e)
			}
		}
	}
}

// Without an input shape, the error names the flag, the sizes to give and
// what the file's metadata says; a wrong shape is refused with the reason.
// All are input contract errors (the model is fine, the settings are not).
func TestInputShapeErrors(t *testing.T) {
	load := func(name string, c models.Contract) error {
		_, err := models.Open(filepath.Join(testdata, "models", name+".onnx"), c, models.DefaultLimits())
		return err
	}
	for _, c := range []struct {
		name  string
		shape []int
		want  []string
	}{
		{"dyn_hw", nil, []string{`input "input" has shape [batch, 3, height, width]`, "--input-shape 3,H,W", "model.input_shape"}},
		{"dyn_hw_paddle", nil, []string{`input "x" has shape [N, 3, DynamicDimension, DynamicDimension]`, "--input-shape 3,H,W", `image_shape="3,32,32"`}},
		{"dyn_hw", []int{1, 32, 32}, []string{"size 1 of input \"input\" is fixed at 3 by the model, not 1"}},
		{"dyn_hw", []int{32, 32}, []string{"input_shape 32,32 has 2 sizes, but input \"input\" has 3 dimensions besides the batch"}},
		{"dyn_hw", []int{3, 2048, 2048}, []string{"input_shape 3,2048,2048 does not fit the model"}},
		{"dyn_hw", []int{3, 0, 4}, []string{"input_shape 3,0,4", "want sizes from 1"}},
		{"mlp", []int{1, 32, 32}, []string{"input_shape 1,32,32"}},
	} {
		err := load(c.name, models.Contract{InputShape: c.shape})
		if err == nil {
			t.Errorf("%s %v: loaded", c.name, c.shape)
			continue
		}
		if !errors.Is(err, models.ErrContract) || !errors.Is(err, models.ErrBadModel) {
			t.Errorf("%s %v: %v is not an input contract error", c.name, c.shape, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %v: error %q does not say %q", c.name, c.shape, err, w)
			}
		}
	}
	// The shape a model fixes may be given as it is.
	m := open(t, "mlp", models.Contract{})
	if err := load("mlp", models.Contract{InputShape: m.Spec().Shape}); err != nil {
		t.Errorf("mlp at its own shape %v: %v", m.Spec().Shape, err)
	}
	// An NHWC model takes the shape in pixel space (C,H,W).
	nhwc := open(t, "nhwc", models.Contract{Layout: models.NHWC})
	if err := load("nhwc", models.Contract{Layout: models.NHWC, InputShape: nhwc.Spec().Shape}); err != nil {
		t.Errorf("nhwc at its own shape %v: %v", nhwc.Spec().Shape, err)
	}
}
