package models_test

import (
	"errors"
	"math"
	"testing"

	"github.com/advcheck/advcheck/models"
)

// CheckContract refuses the values that Normalized reads as defaults (zero
// bounds, a zero scale, no layout): a user's settings are checked with it,
// so a mistake is never replaced by a default. Each error names its field.
func TestCheckContract(t *testing.T) {
	ok := models.Contract{Layout: "NCHW", Lo: 0, Hi: 255, Scale: 1, Mean: []float64{0.5}, Std: []float64{0.25}}
	if err := models.CheckContract(ok); err != nil {
		t.Fatalf("valid contract: %v", err)
	}
	for _, c := range []struct {
		edit  func(*models.Contract)
		field string
	}{
		{func(c *models.Contract) { c.Layout = "" }, "layout"},
		{func(c *models.Contract) { c.Layout = "hwc" }, "layout"},
		{func(c *models.Contract) { c.Lo, c.Hi = 0, 0 }, "bounds"},
		{func(c *models.Contract) { c.Lo, c.Hi = 1, 0 }, "bounds"},
		{func(c *models.Contract) { c.Hi = inf }, "bounds"},
		{func(c *models.Contract) { c.Scale = 0 }, "scale"},
		{func(c *models.Contract) { c.Scale = -1 }, "scale"},
		{func(c *models.Contract) { c.Scale = nan }, "scale"},
		{func(c *models.Contract) { c.Scale = inf }, "scale"},
		{func(c *models.Contract) { c.Std = nil }, "mean"},
		{func(c *models.Contract) { c.Mean = nil }, "std"},
		{func(c *models.Contract) { c.Mean = []float64{0, 0} }, "mean"},
		{func(c *models.Contract) { c.Mean = []float64{nan} }, "mean"},
		{func(c *models.Contract) { c.Std = []float64{0} }, "std"},
		{func(c *models.Contract) { c.Std = []float64{inf} }, "std"},
	} {
		bad := ok
		c.edit(&bad)
		err := models.CheckContract(bad)
		var ce *models.ContractValueError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%+v: error %v; want one about %s", bad, err, c.field)
		}
		// Normalized keeps its defaults for contracts built in code, and
		// refuses everything else as CheckContract does.
		n, err := bad.Normalized()
		isDefault := (c.field == "layout" && bad.Layout == "") || (c.field == "bounds" && bad.Lo == 0 && bad.Hi == 0) || (c.field == "scale" && bad.Scale == 0)
		if isDefault {
			if err != nil || n.Layout != models.NCHW || n.Lo != 0 || n.Hi == 0 || n.Scale == 0 {
				t.Errorf("Normalized(%+v) = %+v, %v; want the default", bad, n, err)
			}
		} else if err == nil {
			t.Errorf("Normalized(%+v) accepted it", bad)
		}
	}
}

var inf, nan = math.Inf(1), math.NaN()
