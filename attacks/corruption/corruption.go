package corruption

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Errors returned by Apply and ApplyBatch; wrap-checked with errors.Is.
var (
	ErrUnknown  = errors.New("corruption: unknown corruption")
	ErrSeverity = errors.New("corruption: severity must be 1..5")
	ErrShape    = errors.New("corruption: bad image shape")
	ErrBounds   = errors.New("corruption: bad bounds")
)

// Scale names the published parameter set a corruption uses.
type Scale string

const (
	// CIFAR is the CIFAR-10-C parameter set (make_cifar_c.py), published
	// for 32×32 images and used for images smaller than 128 px.
	CIFAR Scale = "cifar"
	// ImageNet is the ImageNet-C parameter set (make_imagenet_c.py),
	// published for 224×224 images and used for images of 128 px or more.
	ImageNet Scale = "imagenet"
)

// ScaleOf returns the parameter set used for h×w images and whether h×w is
// the size that set was published for (32×32 for CIFAR, 224×224 for
// ImageNet). Sizes in between use the set of the nearer scale (the smaller
// side below 128 px → CIFAR) with their size-dependent parts (crop and
// texture sizes, pixelate's target size, elastic's displacement scale) taken
// from the actual size; see docs/corruptions.md. It returns ErrShape for
// images smaller than 8 px on a side.
func ScaleOf(h, w int) (s Scale, published bool, err error) {
	if h < minSide || w < minSide {
		return "", false, fmt.Errorf("%w: %d×%d is smaller than %d×%d", ErrShape, h, w, minSide, minSide)
	}
	if min(h, w) < 128 {
		return CIFAR, h == 32 && w == 32, nil
	}
	return ImageNet, h == 224 && w == 224, nil
}

const minSide = 8

// Config holds what a corruption run shares across samples.
type Config struct {
	// Lo, Hi are the input bounds; Lo == Hi == 0 means [0, 1]. Images are
	// mapped to [0, 1], corrupted, and mapped back, so outputs lie in
	// [Lo, Hi].
	Lo, Hi float32
	// Seed is the run's seed; with the corruption's name and the sample's
	// global index it determines every random draw.
	Seed uint64
}

func (c Config) bounds() (lo, hi float64, err error) {
	lo, hi = float64(c.Lo), float64(c.Hi)
	if lo == 0 && hi == 0 {
		hi = 1
	}
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, fmt.Errorf("%w: [%g, %g]", ErrBounds, lo, hi)
	}
	return lo, hi, nil
}

// corruptFunc corrupts m in place (values in [0,1], CHW) at one severity of
// one parameter set, drawing randomness from r.
type corruptFunc func(m *image, sc Scale, severity int, r source) error

type entry struct {
	name string
	fn   corruptFunc
}

// registry lists the corruptions in the benchmark's order (Hendrycks &
// Dietterich 2019, Table/figure order: noise, blur, weather, digital).
var registry = []entry{
	{"gaussian_noise", gaussianNoise},
	{"shot_noise", shotNoise},
	{"impulse_noise", impulseNoise},
	{"defocus_blur", defocusBlur},
	{"glass_blur", glassBlur},
	{"motion_blur", motionBlur},
	{"zoom_blur", zoomBlur},
	{"snow", snow},
	{"frost", frost},
	{"fog", fog},
	{"brightness", brightness},
	{"contrast", contrast},
	{"elastic_transform", elasticTransform},
	{"pixelate", pixelate},
	{"jpeg_compression", jpegCompression},
}

// Names returns the names of the implemented corruptions in the benchmark's
// order (noise, blur, weather, digital). Corruptions of the benchmark that
// are not implemented are not listed (see Missing).
func Names() []string {
	out := make([]string, 0, len(registry))
	for _, e := range registry {
		out = append(out, e.name)
	}
	return out
}

// Benchmark lists the 15 corruptions of Hendrycks & Dietterich (2019) in
// their order, whether implemented or not.
var Benchmark = []string{
	"gaussian_noise", "shot_noise", "impulse_noise",
	"defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
	"snow", "frost", "fog",
	"brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
}

// Missing returns the corruptions of the benchmark that this package does
// not implement, in the benchmark's order.
func Missing() []string {
	var out []string
	for _, n := range Benchmark {
		if lookup(n) == nil {
			out = append(out, n)
		}
	}
	return out
}

func lookup(name string) corruptFunc {
	for _, e := range registry {
		if e.name == name {
			return e.fn
		}
	}
	return nil
}

// Check reports whether name and severity are valid, with the error Apply
// would return.
func Check(name string, severity int) error {
	if lookup(name) == nil {
		return fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	if severity < 1 || severity > 5 {
		return fmt.Errorf("%w, got %d", ErrSeverity, severity)
	}
	return nil
}

// Apply corrupts one image. img is C×H×W float32 (C = 1 gray or 3 RGB, H
// and W at least 8) in [cfg.Lo, cfg.Hi] (values outside, and NaN, are
// clipped to the bounds first); the result is a new C×H×W slice in the same
// bounds.
// index is the sample's global index: with cfg.Seed and name it fixes the
// random draws, so the result does not depend on batch, thread or shard.
// The severities of one sample share their draws.
func Apply(name string, severity int, img []float32, c, h, w int, cfg Config, index int) ([]float32, error) {
	out := make([]float32, len(img))
	if err := applyTo(out, name, severity, img, c, h, w, cfg, index); err != nil {
		return nil, err
	}
	return out, nil
}

// ApplyBatch corrupts n images stored N×C×H×W in x; sample i has global
// index first+i. dst receives the result; nil means allocate.
func ApplyBatch(dst []float32, name string, severity int, x []float32, n, c, h, w int, cfg Config, first int) ([]float32, error) {
	if n < 0 || len(x) != n*c*h*w {
		return nil, fmt.Errorf("%w: %d values for %d×%d×%d×%d", ErrShape, len(x), n, c, h, w)
	}
	if dst == nil {
		dst = make([]float32, len(x))
	}
	if len(dst) != len(x) {
		return nil, fmt.Errorf("%w: dst has %d values, want %d", ErrShape, len(dst), len(x))
	}
	size := c * h * w
	for i := 0; i < n; i++ {
		if err := applyTo(dst[i*size:(i+1)*size], name, severity, x[i*size:(i+1)*size], c, h, w, cfg, first+i); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

func applyTo(dst []float32, name string, severity int, img []float32, c, h, w int, cfg Config, index int) error {
	if err := Check(name, severity); err != nil {
		return err
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("%w: %d channels, want 1 (gray) or 3 (RGB)", ErrShape, c)
	}
	sc, _, err := ScaleOf(h, w)
	if err != nil {
		return err
	}
	if len(img) != c*h*w {
		return fmt.Errorf("%w: %d values for %d×%d×%d", ErrShape, len(img), c, h, w)
	}
	lo, hi, err := cfg.bounds()
	if err != nil {
		return err
	}
	m := newImage(c, h, w)
	scale := hi - lo
	for i, v := range img {
		u := (float64(v) - lo) / scale
		if !(u >= 0) { // also NaN
			u = 0
		} else if u > 1 {
			u = 1
		}
		m.pix[i] = u
	}
	r := rngSource{stream(cfg.Seed, name, index)}
	if err := lookup(name)(m, sc, severity, r); err != nil {
		return err
	}
	for i, u := range m.pix {
		v := float32(lo + u*scale)
		// float32 rounding must not leave the bounds
		if v < float32(lo) {
			v = float32(lo)
		} else if v > float32(hi) {
			v = float32(hi)
		}
		dst[i] = v
	}
	return nil
}

// stream returns the random stream of one sample of one corruption.
func stream(seed uint64, name string, index int) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte("corruption:" + name))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(b[:], uint64(index))
	h.Write(b[:])
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}
