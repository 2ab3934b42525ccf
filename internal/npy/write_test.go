package npy

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// sample returns an array of d and shape holding distinctive values,
// including the extremes of d.
func sample(d DType, shape []int) *Array {
	n, _ := shapeProduct(shape)
	a := &Array{Shape: shape, DType: d}
	ints := map[DType][]int64{
		Int8:   {math.MinInt8, -1, 0, 1, math.MaxInt8},
		Int16:  {math.MinInt16, -300, 0, 300, math.MaxInt16},
		Int32:  {math.MinInt32, -70000, 0, 70000, math.MaxInt32},
		Int64:  {math.MinInt64, -1 << 40, 0, 1 << 40, math.MaxInt64},
		Uint16: {0, 1, 255, 256, math.MaxUint16},
		Uint32: {0, 1, 65536, 1 << 31, math.MaxUint32},
	}
	floats := []float64{0, math.Copysign(0, -1), 1.5, -2.25, math.Inf(1), math.Inf(-1), math.NaN(), 1e-3, 1e300}
	for i := range int(n) {
		switch d {
		case Bool:
			a.U8 = append(a.U8, uint8(i%3%2))
		case Uint8:
			a.U8 = append(a.U8, uint8(i*37))
		case Uint64:
			a.U64 = append(a.U64, []uint64{0, 1, 1 << 63, math.MaxUint64}[i%4])
		case Float16:
			a.F32 = append(a.F32, []float32{0, -0.5, 65504, 1.0 / (1 << 24), float32(math.Inf(-1)), float32(math.NaN()), 1.0009765625}[i%7])
		case Float32:
			a.F32 = append(a.F32, float32(floats[i%len(floats)])*float32(i+1))
		case Float64:
			a.F64 = append(a.F64, floats[i%len(floats)]*float64(i+1))
		default:
			a.I64 = append(a.I64, ints[d][i%5])
		}
	}
	return a
}

var allDTypes = []DType{Bool, Uint8, Int8, Int16, Int32, Int64, Uint16, Uint32, Uint64, Float16, Float32, Float64}

func TestRoundTripEveryDType(t *testing.T) {
	shapes := [][]int{{}, {1}, {7}, {2, 3}, {2, 1, 3, 2}, {0}, {3, 0, 2}, {1, 1, 1, 1, 1, 1, 1, 1, 5}}
	for _, d := range allDTypes {
		for _, shape := range shapes {
			a := sample(d, shape)
			var buf bytes.Buffer
			if err := Write(&buf, a); err != nil {
				t.Fatalf("%s %v: %v", d, shape, err)
			}
			if buf.Len()%64 != int(mustProduct(shape))*d.Size()%64 {
				t.Errorf("%s %v: data not aligned to 64 bytes", d, shape)
			}
			b, err := readBoth(t, buf.Bytes(), Limits{})
			if err != nil {
				t.Fatalf("%s %v: %v", d, shape, err)
			}
			if !sameArray(a, b) {
				t.Fatalf("%s %v: read %+v, wrote %+v", d, shape, b, a)
			}
		}
	}
}

func mustProduct(shape []int) int64 {
	n, ok := shapeProduct(shape)
	if !ok {
		panic("bad shape")
	}
	return n
}

func TestWriteHelpers(t *testing.T) {
	var buf bytes.Buffer
	check := func(want *Array) {
		t.Helper()
		got, err := readBoth(t, buf.Bytes(), Limits{})
		if err != nil || !sameArray(got, want) {
			t.Fatalf("%s: read %+v, %v", want.DType, got, err)
		}
		buf.Reset()
	}
	f32 := []float32{1, -2, 3.5, float32(math.Inf(1))}
	if err := WriteFloat32(&buf, []int{2, 2}, f32); err != nil {
		t.Fatal(err)
	}
	check(&Array{Shape: []int{2, 2}, DType: Float32, F32: f32})
	f64 := []float64{math.Pi}
	if err := WriteFloat64(&buf, nil, f64); err != nil {
		t.Fatal(err)
	}
	check(&Array{Shape: []int{}, DType: Float64, F64: f64})
	i64 := []int64{math.MinInt64, 0, math.MaxInt64}
	if err := WriteInt64(&buf, []int{3}, i64); err != nil {
		t.Fatal(err)
	}
	check(&Array{Shape: []int{3}, DType: Int64, I64: i64})
	u8 := []uint8{0, 128, 255, 1, 2, 3}
	if err := WriteUint8(&buf, []int{1, 2, 3}, u8); err != nil {
		t.Fatal(err)
	}
	check(&Array{Shape: []int{1, 2, 3}, DType: Uint8, U8: u8})
}

func TestWriteBoolNormalized(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, &Array{Shape: []int{3}, DType: Bool, U8: []uint8{0, 2, 255}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte{0, 1, 1}) {
		t.Fatalf("data %v", buf.Bytes()[buf.Len()-3:])
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name   string
		a      *Array
		substr string
	}{
		{"nil", nil, "nil array"},
		{"unknown dtype", &Array{Shape: []int{1}, DType: "c8", F32: []float32{1}}, `unknown dtype "c8"`},
		{"empty dtype", &Array{Shape: []int{1}, U8: []uint8{1}}, `unknown dtype ""`},
		{"short data", &Array{Shape: []int{2, 2}, DType: Float32, F32: make([]float32, 3)}, "shape [2 2] needs 4 elements, the data has 3"},
		{"long data", &Array{Shape: []int{}, DType: Float64, F64: make([]float64, 2)}, "shape [] needs 1 elements, the data has 2"},
		{"wrong field", &Array{Shape: []int{1}, DType: Float32, F64: []float64{1}}, "needs 1 elements, the data has 0"},
		{"two fields", &Array{Shape: []int{1}, DType: Float32, F32: []float32{1}, U8: []uint8{1}}, "must hold its data in one field only"},
		{"negative dim", &Array{Shape: []int{-1}, DType: Uint8}, "invalid shape [-1]"},
		{"overflow", &Array{Shape: []int{math.MaxInt, 2}, DType: Uint8}, "invalid shape"},
		{"too many dims", &Array{Shape: make([]int, 65), DType: Uint8}, "65 dimensions, at most 64"},
		{"int8 range", &Array{Shape: []int{2}, DType: Int8, I64: []int64{1, 128}}, "element 1 (128) does not fit dtype i1"},
		{"int16 range", &Array{Shape: []int{1}, DType: Int16, I64: []int64{-32769}}, "does not fit dtype i2"},
		{"int32 range", &Array{Shape: []int{1}, DType: Int32, I64: []int64{1 << 31}}, "does not fit dtype i4"},
		{"uint16 range", &Array{Shape: []int{1}, DType: Uint16, I64: []int64{-1}}, "does not fit dtype u2"},
		{"uint32 range", &Array{Shape: []int{1}, DType: Uint32, I64: []int64{1 << 32}}, "does not fit dtype u4"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.a)
		if err == nil || !strings.Contains(err.Error(), c.substr) || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.substr)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes", c.name, buf.Len())
		}
	}
	if err := WriteFloat32(&bytes.Buffer{}, []int{3}, []float32{1}); err == nil {
		t.Error("WriteFloat32 with short data: no error")
	}
}

func TestWriteWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	big := &Array{Shape: []int{100000}, DType: Float64, F64: make([]float64, 100000)}
	for _, n := range []int{0, 10, 200, 70000, 799999} {
		if err := Write(&failingWriter{n: n, err: boom}, big); !errors.Is(err, boom) {
			t.Errorf("writer failing after %d bytes: %v", n, err)
		}
	}
}

func TestHalfExhaustive(t *testing.T) {
	for h := range 1 << 16 {
		f := halfToFloat32(uint16(h))
		if back := float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
		exp := h >> 10 & 0x1f
		if isNaN := exp == 0x1f && h&0x3ff != 0; isNaN != (f != f) {
			t.Fatalf("half %#04x -> %g: NaN-ness changed", h, f)
		}
	}
	cases := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 1.0 / (1 << 24)},
		{0x0400, 1.0 / (1 << 14)}, {0x03ff, 1023.0 / (1 << 24)}, {0x3555, 0.333251953125},
	}
	for _, c := range cases {
		if got := halfToFloat32(c.h); got != c.f {
			t.Errorf("halfToFloat32(%#04x) = %g, want %g", c.h, got, c.f)
		}
	}
	if got := halfToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("negative zero: %g", got)
	}
	if !math.IsInf(float64(halfToFloat32(0xfc00)), -1) {
		t.Error("0xfc00 is not -Inf")
	}
	// Conversions the other way that NumPy's rounding tables (expected.json)
	// might not cover.
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{65520, 0x7c00},                                  // rounds up to infinity
		{65519.996, 0x7bff},                              // rounds down to the largest finite
		{float32(math.Inf(1)), 0x7c00},                   // infinity
		{math.Float32frombits(0x7f800001), 0x7c01},       // NaN whose payload is in the dropped bits
		{math.Float32frombits(0xffc00000), 0xfe00},       // quiet NaN keeps its sign and payload
		{math.Float32frombits(0x00000001), 0x0000},       // float32 subnormal
		{1.0 / (1 << 25), 0x0000},                        // tie between 0 and the smallest subnormal: even
		{1.0 / (1 << 25) * 1.5, 0x0001},                  // above the tie
		{3.0 / (1 << 25), 0x0002},                        // tie between 1 and 2 subnormal units: even
		{1 + 1.0/(1<<11), 0x3c00},                        // tie in the normal range: even
		{1 + 3.0/(1<<11), 0x3c02},                        // tie in the normal range: even, up
		{-(1.0 / (1 << 14)) * (1 - 1.0/(1<<11)), 0x8400}, // rounds up into the normal range
	} {
		if got := float32ToHalf(c.f); got != c.h {
			t.Errorf("float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

func TestConversions(t *testing.T) {
	u8 := &Array{Shape: []int{3}, DType: Uint8, U8: []uint8{0, 7, 255}}
	i64 := &Array{Shape: []int{3}, DType: Int16, I64: []int64{-5, 0, 9}}
	u64 := &Array{Shape: []int{2}, DType: Uint64, U64: []uint64{3, 1 << 40}}
	f32 := &Array{Shape: []int{2}, DType: Float32, F32: []float32{-2, 1.5}}
	f64 := &Array{Shape: []int{2}, DType: Float64, F64: []float64{4, -0.25}}

	eq32 := func(got []float32, want ...float32) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	eq64 := func(got []float64, want ...float64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if !eq32(u8.Float32s(), 0, 7, 255) || !eq32(i64.Float32s(), -5, 0, 9) || !eq32(u64.Float32s(), 3, 1<<40) ||
		!eq32(f64.Float32s(), 4, -0.25) || !eq32(f32.Float32s(), -2, 1.5) {
		t.Error("Float32s")
	}
	if !eq64(u8.Float64s(), 0, 7, 255) || !eq64(i64.Float64s(), -5, 0, 9) || !eq64(u64.Float64s(), 3, 1<<40) ||
		!eq64(f32.Float64s(), -2, 1.5) || !eq64(f64.Float64s(), 4, -0.25) {
		t.Error("Float64s")
	}
	if &f32.Float32s()[0] != &f32.F32[0] || &f64.Float64s()[0] != &f64.F64[0] {
		t.Error("Float32s/Float64s copy data of their own type")
	}
	for _, c := range []struct {
		a    *Array
		want []int64
	}{
		{u8, []int64{0, 7, 255}}, {i64, []int64{-5, 0, 9}}, {u64, []int64{3, 1 << 40}},
		{f32, []int64{-2, 0}}, {f64, []int64{4, 0}},
	} {
		got, err := c.a.Int64s()
		if c.a.DType.storage() >= stF32 {
			if err == nil || !strings.Contains(err.Error(), "element 1") {
				t.Errorf("%s Int64s: %v, %v", c.a.DType, got, err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("%s Int64s: %v, %v", c.a.DType, got, err)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s Int64s: %v", c.a.DType, got)
			}
		}
	}
	if got, _ := i64.Int64s(); &got[0] != &i64.I64[0] {
		t.Error("Int64s copies int64 data")
	}
	ints := &Array{Shape: []int{3}, DType: Float64, F64: []float64{-(1 << 63), 1 << 52, math.Copysign(0, -1)}}
	if got, err := ints.Int64s(); err != nil || got[0] != math.MinInt64 || got[1] != 1<<52 || got[2] != 0 {
		t.Errorf("integral floats: %v, %v", got, err)
	}
	for _, v := range []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), 1 << 63, -(1 << 64)} {
		if _, err := (&Array{Shape: []int{1}, DType: Float64, F64: []float64{v}}).Int64s(); err == nil {
			t.Errorf("Int64s(%v): no error", v)
		}
	}
	if _, err := (&Array{Shape: []int{1}, DType: Float16, F32: []float32{2.5}}).Int64s(); err == nil {
		t.Error("Int64s of half 2.5: no error")
	}
	if _, err := (&Array{Shape: []int{1}, DType: Uint64, U64: []uint64{1 << 63}}).Int64s(); err == nil {
		t.Error("Int64s of 2^63: no error")
	}
	var empty Array
	if empty.Len() != 0 || len(empty.Float32s()) != 0 || len(empty.Float64s()) != 0 {
		t.Error("zero Array")
	}
	if got, err := empty.Int64s(); err != nil || len(got) != 0 {
		t.Error("zero Array Int64s")
	}
}

func TestDTypeSize(t *testing.T) {
	for _, d := range allDTypes {
		if want := int(d[1] - '0'); d.Size() != want {
			t.Errorf("%s.Size() = %d", d, d.Size())
		}
	}
	for _, d := range []DType{"", "f", "c8", "f16", "O"} {
		if d.Size() != 0 {
			t.Errorf("%q.Size() = %d", d, d.Size())
		}
	}
}
