package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
)

// GoJPEGDecoder is JPEGDecoder in builds without libjpeg (no cgo, or no
// libjpeg build tag): Go's image/jpeg upsamples chroma and converts YCbCr to
// RGB differently from libjpeg, so pixels differ from PIL's by up to tens of
// levels on subsampled files, and reports carry a warning.
const GoJPEGDecoder = "go image/jpeg (not PIL-exact)"

// maxImagePixels bounds one image whatever the data limits: 64 Mpixel.
const maxImagePixels = 1 << 26

// jpegMagic starts every JPEG file: SOI and the first marker's 0xFF.
var jpegMagic = []byte{0xFF, 0xD8, 0xFF}

// decodeJPEGFile decodes r as PIL's Image.open(r).convert("RGB") (or "L"
// for gray files) would when r holds a JPEG, and returns ok false otherwise
// with r rewound. The whole file is read into memory, at most lim.MaxBytes.
func decodeJPEGFile(r io.ReadSeeker, lim Limits) (img image.Image, ok bool, err error) {
	var head [3]byte
	n, err := io.ReadFull(r, head[:])
	if _, serr := r.Seek(0, io.SeekStart); serr != nil {
		return nil, false, serr
	}
	if err != nil || n < 3 || !bytes.Equal(head[:], jpegMagic) {
		return nil, false, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, true, err
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, true, fmt.Errorf("more than %d bytes", lim.MaxBytes)
	}
	img, err = decodeJPEG(data, lim.MaxElements)
	return img, true, err
}

// checkJPEG refuses what a header says advcheck cannot decode as PIL does,
// or what is over the limits, before any pixel memory is allocated.
func checkJPEG(w, h, c int, cmyk bool, maxElements int64) error {
	if cmyk || c == 4 {
		return errors.New("a CMYK/YCCK JPEG: PIL's conversion of CMYK to RGB is not a colour-managed one and advcheck does not reproduce it; convert the images to RGB first")
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("a JPEG with %d components; want 1 (gray) or 3 (colour)", c)
	}
	if int64(w)*int64(h) > maxImagePixels || int64(w)*int64(h)*3 > maxElements {
		return fmt.Errorf("%d×%d pixels is over the limit", w, h)
	}
	return nil
}
