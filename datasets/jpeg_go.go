//go:build !libjpeg || !cgo

package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// JPEGDecoder names the JPEG decoder compiled in. Without libjpeg it is Go's
// image/jpeg, whose pixels are not PIL's.
var JPEGDecoder = GoJPEGDecoder

// JPEGPILExact says whether JPEG pixels are bit-identical to PIL's.
const JPEGPILExact = false

// decodeJPEG decodes a JPEG of 1 or 3 components with Go's image/jpeg,
// refusing images whose pixel count is over maxElements.
func decodeJPEG(data []byte, maxElements int64) (image.Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("go image/jpeg: %w", err)
	}
	c := 3
	if cfg.ColorModel == color.GrayModel {
		c = 1
	}
	if err := checkJPEG(cfg.Width, cfg.Height, c, cfg.ColorModel == color.CMYKModel, maxElements); err != nil {
		return nil, err
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("go image/jpeg: %w", err)
	}
	return img, nil
}
