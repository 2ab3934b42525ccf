package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"
)

func le16(vs ...uint16) []byte {
	b := make([]byte, 0, 2*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

func le32(vs ...uint32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

func le64(vs ...uint64) []byte {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func f32bits(vs ...float32) []uint32 {
	out := make([]uint32, len(vs))
	for i, v := range vs {
		out[i] = math.Float32bits(v)
	}
	return out
}

func TestTensorValues(t *testing.T) {
	negOne := uint64(math.MaxUint64) // -1 as raw int64 bits
	tests := []struct {
		name     string
		t        Tensor
		floats   []float64 // Float64s; nil means an error of kind floatErr
		floatErr error
		ints     []int64 // Int64s; nil means an error of kind intErr
		intErr   error
	}{
		{name: "float raw", t: Tensor{DataType: Float, Dims: []int64{3}, RawData: le32(f32bits(1.5, -2, 1e-45)...)},
			floats: []float64{1.5, -2, float64(float32(1e-45))}, intErr: ErrUnsupported},
		{name: "float typed", t: Tensor{DataType: Float, Dims: []int64{2}, FloatData: []float32{0.25, -7}},
			floats: []float64{0.25, -7}, intErr: ErrUnsupported},
		{name: "scalar", t: Tensor{DataType: Float, FloatData: []float32{3}}, floats: []float64{3}, intErr: ErrUnsupported},
		{name: "no elements", t: Tensor{DataType: Float, Dims: []int64{0, 3}}, floats: []float64{}, intErr: ErrUnsupported},
		{name: "double raw", t: Tensor{DataType: Double, Dims: []int64{2}, RawData: le64(math.Float64bits(math.Pi), math.Float64bits(-1e300))},
			floats: []float64{math.Pi, -1e300}, intErr: ErrUnsupported},
		{name: "double typed", t: Tensor{DataType: Double, Dims: []int64{1}, DoubleData: []float64{math.E}}, floats: []float64{math.E}, intErr: ErrUnsupported},
		{name: "float16 raw", t: Tensor{DataType: Float16, Dims: []int64{2, 3}, RawData: le16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x0400)},
			floats: []float64{1, -2, 65504, 0x1p-24, math.Copysign(0, -1), 0x1p-14}, intErr: ErrUnsupported},
		{name: "float16 typed", t: Tensor{DataType: Float16, Dims: []int64{3}, Int32Data: []int32{0x3555, 0xfc00, -0x4000}},
			floats: []float64{float64(float32(0.333251953125)), math.Inf(-1), -2}, intErr: ErrUnsupported},
		{name: "float16 out of range", t: Tensor{DataType: Float16, Dims: []int64{1}, Int32Data: []int32{0x10000}}, floatErr: ErrMalformed, intErr: ErrUnsupported},
		{name: "bfloat16", t: Tensor{DataType: Bfloat16, Dims: []int64{2}, RawData: le16(0x3f80, 0xc040)},
			floats: []float64{1, -3}, intErr: ErrUnsupported},
		{name: "int8 raw", t: Tensor{DataType: Int8, Dims: []int64{3}, RawData: []byte{0xff, 0x7f, 0x80}},
			floats: []float64{-1, 127, -128}, ints: []int64{-1, 127, -128}},
		{name: "int8 typed", t: Tensor{DataType: Int8, Dims: []int64{2}, Int32Data: []int32{-128, 5}},
			floats: []float64{-128, 5}, ints: []int64{-128, 5}},
		{name: "int8 out of range", t: Tensor{DataType: Int8, Dims: []int64{1}, Int32Data: []int32{128}}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "uint8 raw", t: Tensor{DataType: Uint8, Dims: []int64{2}, RawData: []byte{255, 0}}, floats: []float64{255, 0}, ints: []int64{255, 0}},
		{name: "uint8 out of range", t: Tensor{DataType: Uint8, Dims: []int64{1}, Int32Data: []int32{-1}}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "int16 raw", t: Tensor{DataType: Int16, Dims: []int64{2}, RawData: le16(0x8000, 0x7fff)}, floats: []float64{-32768, 32767}, ints: []int64{-32768, 32767}},
		{name: "uint16 raw", t: Tensor{DataType: Uint16, Dims: []int64{1}, RawData: le16(0xffff)}, floats: []float64{65535}, ints: []int64{65535}},
		{name: "uint16 typed", t: Tensor{DataType: Uint16, Dims: []int64{1}, Int32Data: []int32{65535}}, floats: []float64{65535}, ints: []int64{65535}},
		{name: "int32 raw", t: Tensor{DataType: Int32, Dims: []int64{2}, RawData: le32(0xffffffff, 1<<31)}, floats: []float64{-1, math.MinInt32}, ints: []int64{-1, math.MinInt32}},
		{name: "int32 typed", t: Tensor{DataType: Int32, Dims: []int64{1}, Int32Data: []int32{math.MaxInt32}}, floats: []float64{math.MaxInt32}, ints: []int64{math.MaxInt32}},
		{name: "uint32 raw", t: Tensor{DataType: Uint32, Dims: []int64{1}, RawData: le32(0xffffffff)}, floats: []float64{4294967295}, ints: []int64{4294967295}},
		{name: "uint32 typed out of range", t: Tensor{DataType: Uint32, Dims: []int64{1}, Uint64Data: []uint64{1 << 32}}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "int64 raw", t: Tensor{DataType: Int64, Dims: []int64{2}, RawData: le64(negOne, 1<<62+1)}, floats: []float64{-1, 1 << 62}, ints: []int64{-1, 1<<62 + 1}},
		{name: "int64 typed", t: Tensor{DataType: Int64, Dims: []int64{2}, Int64Data: []int64{math.MinInt64, 7}}, floats: []float64{math.MinInt64, 7}, ints: []int64{math.MinInt64, 7}},
		{name: "uint64 raw", t: Tensor{DataType: Uint64, Dims: []int64{1}, RawData: le64(math.MaxUint64)}, floats: []float64{math.MaxUint64}, intErr: ErrUnsupported},
		{name: "uint64 typed", t: Tensor{DataType: Uint64, Dims: []int64{2}, Uint64Data: []uint64{1 << 63, 3}}, floats: []float64{1 << 63, 3}, intErr: ErrUnsupported},
		{name: "uint64 small", t: Tensor{DataType: Uint64, Dims: []int64{1}, Uint64Data: []uint64{math.MaxInt64}}, floats: []float64{math.MaxInt64}, ints: []int64{math.MaxInt64}},
		{name: "bool raw", t: Tensor{DataType: Bool, Dims: []int64{3}, RawData: []byte{0, 1, 2}}, floats: []float64{0, 1, 1}, ints: []int64{0, 1, 1}},
		{name: "bool typed", t: Tensor{DataType: Bool, Dims: []int64{2}, Int32Data: []int32{1, 0}}, floats: []float64{1, 0}, ints: []int64{1, 0}},

		{name: "too few values", t: Tensor{DataType: Float, Dims: []int64{2, 2}, FloatData: []float32{1, 2, 3}}, floatErr: ErrMalformed, intErr: ErrUnsupported},
		{name: "scalar without data", t: Tensor{DataType: Int64}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "ragged raw", t: Tensor{DataType: Int32, Dims: []int64{4}, RawData: make([]byte, 15)}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "raw and typed", t: Tensor{DataType: Int64, Dims: []int64{1}, RawData: le64(1), Int64Data: []int64{1}}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "wrong typed field", t: Tensor{DataType: Float, Dims: []int64{1}, Int64Data: []int64{1}}, floatErr: ErrMalformed, intErr: ErrUnsupported},
		{name: "string", t: Tensor{DataType: String, Dims: []int64{1}}, floatErr: ErrUnsupported, intErr: ErrUnsupported},
		{name: "complex64", t: Tensor{DataType: Complex64, Dims: []int64{1}, FloatData: []float32{1, 2}}, floatErr: ErrUnsupported, intErr: ErrUnsupported},
		{name: "float8", t: Tensor{DataType: Float8E4M3FN, Dims: []int64{1}, RawData: []byte{1}}, floatErr: ErrUnsupported, intErr: ErrUnsupported},
		{name: "undefined", t: Tensor{Dims: []int64{1}, RawData: []byte{1}}, floatErr: ErrUnsupported, intErr: ErrUnsupported},
		{name: "negative dim", t: Tensor{DataType: Float, Dims: []int64{-1}}, floatErr: ErrMalformed, intErr: ErrUnsupported},
		{name: "dims overflow", t: Tensor{DataType: Int8, Dims: []int64{1 << 32, 1 << 32}, RawData: []byte{1}}, floatErr: ErrLimit, intErr: ErrLimit},
		{name: "huge dims, little data", t: Tensor{DataType: Int64, Dims: []int64{1 << 40}, RawData: le64(1)}, floatErr: ErrMalformed, intErr: ErrMalformed},
		{name: "external", t: Tensor{DataType: Float, Dims: []int64{1}, External: true}, floatErr: ErrUnsupported, intErr: ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f64, err := tc.t.Float64s()
			check(t, "Float64s", f64, err, tc.floats, tc.floatErr)
			f32, err := tc.t.Float32s()
			var want32 []float32
			if tc.floats != nil {
				want32 = make([]float32, len(tc.floats))
				for i, v := range tc.floats {
					want32[i] = float32(v)
				}
			}
			check(t, "Float32s", f32, err, want32, tc.floatErr)
			checkReadFloat32s(t, &tc.t, want32, tc.floatErr)
			i64, err := tc.t.Int64s()
			check(t, "Int64s", i64, err, tc.ints, tc.intErr)
		})
	}
}

// checkReadFloat32s reads t in pieces of one and of two elements, which
// must give want (or, read whole, fail with wantErr), and past its end,
// which must fail.
func checkReadFloat32s(t *testing.T, tt *Tensor, want []float32, wantErr error) {
	t.Helper()
	if want == nil {
		n, _ := tt.NumElements()
		if n > 1<<10 {
			n = 1
		}
		err := tt.ReadFloat32s(make([]float32, n), 0)
		check[float32](t, "ReadFloat32s", nil, err, nil, wantErr)
		return
	}
	for _, k := range []int{1, 2} {
		got := []float32{}
		for off := 0; off < len(want); off += k {
			part := make([]float32, min(k, len(want)-off))
			if err := tt.ReadFloat32s(part, int64(off)); err != nil {
				t.Fatalf("ReadFloat32s at %d: %v", off, err)
			}
			got = append(got, part...)
		}
		check(t, "ReadFloat32s", got, nil, want, nil)
	}
	for _, off := range []int64{int64(len(want)), -1} {
		if err := tt.ReadFloat32s(make([]float32, 1), off); !errors.Is(err, ErrUnsupported) {
			t.Errorf("ReadFloat32s of element %d of %d: %v, want ErrUnsupported", off, len(want), err)
		}
	}
}

func check[T float32 | float64 | int64](t *testing.T, method string, got []T, err error, want []T, wantErr error) {
	t.Helper()
	if want == nil {
		if !errors.Is(err, wantErr) {
			t.Errorf("%s: got %v, %v; want error %v", method, got, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", method, err)
		return
	}
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", method, got, want)
		return
	}
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if g != w && !(math.IsNaN(g) && math.IsNaN(w)) || math.Signbit(g) != math.Signbit(w) {
			t.Errorf("%s = %v, want %v", method, got, want)
			return
		}
	}
}

// TestHalfFloat checks all 65536 float16 values against the definition of
// IEEE 754 binary16.
func TestHalfFloat(t *testing.T) {
	for h := range 1 << 16 {
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		exp, mant := (h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch exp {
		case 0:
			want = sign * math.Ldexp(mant/1024, -14)
		case 0x1f:
			want = math.Inf(int(sign))
			if mant != 0 {
				want = math.NaN()
			}
		default:
			want = sign * math.Ldexp(1+mant/1024, exp-15)
		}
		got := float64(halfToFloat32(uint16(h)))
		if math.IsNaN(want) {
			if !math.IsNaN(got) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

func TestNumElements(t *testing.T) {
	tests := []struct {
		dims []int64
		n    int64
		err  error
	}{
		{nil, 1, nil},
		{[]int64{}, 1, nil},
		{[]int64{2, 3, 4}, 24, nil},
		{[]int64{0}, 0, nil},
		{[]int64{1 << 62, 1 << 62, 0}, 0, nil},
		{[]int64{math.MaxInt64}, math.MaxInt64, nil},
		{[]int64{1 << 31, 1 << 32}, 0, ErrLimit},
		{[]int64{3, -1}, 0, ErrMalformed},
		{[]int64{-1, 0}, 0, ErrMalformed},
	}
	for _, tc := range tests {
		n, err := (&Tensor{Name: "t", Dims: tc.dims}).NumElements()
		if n != tc.n || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("NumElements(%v) = %d, %v; want %d, %v", tc.dims, n, err, tc.n, tc.err)
		}
	}
}

// TestAccessorsCheckBeforeAllocating: a tensor built by hand (not limited by
// Decode) that declares 2^40 elements over 8 bytes of data fails without
// allocating for the declared count.
func TestAccessorsCheckBeforeAllocating(t *testing.T) {
	tt := &Tensor{Name: "w", DataType: Float, Dims: []int64{1 << 40}, RawData: le32(1, 2)}
	var err error
	n := allocated(func() { _, err = tt.Float32s() })
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	if n > 1<<10 {
		t.Errorf("allocated %d bytes", n)
	}
	want := `onnx: tensor "w": raw_data holds 8 bytes, want 1099511627776 elements of 4 bytes for dims [1099511627776]`
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err, want)
	}
}

func ExampleTensor_Float64s() {
	// A float16 tensor as onnx.helper writes it: the bits in int32_data.
	t := &Tensor{Name: "half", DataType: Float16, Dims: []int64{3}, Int32Data: []int32{0x3c00, 0xc100, 0x7c00}}
	v, err := t.Float64s()
	fmt.Println(v, err)
	_, err = t.Int64s()
	fmt.Println(err)
	// Output:
	// [1 -2.5 +Inf] <nil>
	// onnx: tensor "half" has element type FLOAT16; Int64s reads integer and bool tensors
}
