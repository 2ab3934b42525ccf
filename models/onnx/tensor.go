package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// tensor decodes a TensorProto in two passes over its fields. The first reads
// the dims, the type and the name, and counts the values in each data field
// from the byte lengths alone; the limits are checked on these counts. Only
// then does the second pass allocate the data slices, at their exact size,
// and fill them. raw_data is not copied: RawData points into the input.
func (d *decoder) tensor(b []byte) (*Tensor, error) {
	if err := d.item(); err != nil {
		return nil, err
	}
	t := &Tensor{}
	var nf, ni32, ni64, nd, nu64 int64
	var location uint64
	external, segmented := false, false
	for rest := b; len(rest) > 0; {
		f, n, err := nextField(rest)
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
		switch f.num {
		case 1:
			err = d.dims(&f, t)
		case 2:
			var v uint64
			v, err = f.varint("data_type")
			t.DataType = DataType(int32(v))
		case 3:
			_, err = f.msg("segment")
			segmented = true
		case 4:
			nf, err = countValues(&f, nf, protowire.Fixed32Type, 4, "float_data")
		case 5:
			ni32, err = countValues(&f, ni32, protowire.VarintType, 0, "int32_data")
		case 6:
			_, err = f.msg("string_data")
		case 7:
			ni64, err = countValues(&f, ni64, protowire.VarintType, 0, "int64_data")
		case 8:
			t.Name, err = f.str("name")
		case 9:
			t.RawData, err = f.msg("raw_data")
		case 10:
			nd, err = countValues(&f, nd, protowire.Fixed64Type, 8, "double_data")
		case 11:
			nu64, err = countValues(&f, nu64, protowire.VarintType, 0, "uint64_data")
		case 12:
			t.DocString, err = f.str("doc_string")
		case 13:
			_, err = f.msg("external_data")
			external = true
		case 14:
			location, err = f.varint("data_location")
		}
		if err != nil {
			return nil, err
		}
	}
	t.External = external || location == 1
	if segmented {
		return nil, errorf(ErrUnsupported, "the tensor is split into segments, which advcheck does not read")
	}
	elems, ok := product(t.Dims, d.lim.MaxTensorElements)
	if !ok {
		return nil, errorf(ErrLimit, "dims %v make %.4g elements, over the limit of %d per tensor", t.Dims, approxProduct(t.Dims), d.lim.MaxTensorElements)
	}
	stored := nf + ni32 + ni64 + nd + nu64
	if stored > d.lim.MaxTensorElements {
		return nil, errorf(ErrLimit, "%d stored values, over the limit of %d per tensor", stored, d.lim.MaxTensorElements)
	}
	if err := d.reserve(0, max(elems, stored)); err != nil {
		return nil, err
	}
	if stored == 0 {
		return t, nil
	}

	if nf > 0 {
		t.FloatData = make([]float32, 0, nf)
	}
	if ni32 > 0 {
		t.Int32Data = make([]int32, 0, ni32)
	}
	if ni64 > 0 {
		t.Int64Data = make([]int64, 0, ni64)
	}
	if nd > 0 {
		t.DoubleData = make([]float64, 0, nd)
	}
	if nu64 > 0 {
		t.Uint64Data = make([]uint64, 0, nu64)
	}
	for rest := b; len(rest) > 0; {
		f, n, err := nextField(rest) // cannot fail: the first pass read the same bytes
		if err != nil {
			return nil, err
		}
		rest = rest[n:]
		packed := f.typ == protowire.BytesType
		switch f.num {
		case 4:
			if packed {
				t.FloatData = appendFloats(t.FloatData, f.b)
			} else {
				t.FloatData = append(t.FloatData, math.Float32frombits(uint32(f.u)))
			}
		case 5:
			if packed {
				t.Int32Data, err = appendVarints(t.Int32Data, f.b, "int32_data")
			} else {
				t.Int32Data = append(t.Int32Data, int32(f.u))
			}
		case 7:
			if packed {
				t.Int64Data, err = appendVarints(t.Int64Data, f.b, "int64_data")
			} else {
				t.Int64Data = append(t.Int64Data, int64(f.u))
			}
		case 10:
			if packed {
				t.DoubleData = appendDoubles(t.DoubleData, f.b)
			} else {
				t.DoubleData = append(t.DoubleData, math.Float64frombits(f.u))
			}
		case 11:
			if packed {
				t.Uint64Data, err = appendVarints(t.Uint64Data, f.b, "uint64_data")
			} else {
				t.Uint64Data = append(t.Uint64Data, f.u)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// dims appends the values of a dims field, packed or not, to t.Dims.
func (d *decoder) dims(f *field, t *Tensor) error {
	packed, err := f.packed(protowire.VarintType, "dims")
	if err != nil {
		return err
	}
	if !packed {
		return d.addDim(t, int64(f.u))
	}
	k, err := countVarints(f.b, "dims")
	if err != nil {
		return err
	}
	if int64(len(t.Dims))+k > int64(d.lim.MaxDims) {
		return errorf(ErrLimit, "%d dims, over the limit of %d", int64(len(t.Dims))+k, d.lim.MaxDims)
	}
	for b := f.b; len(b) > 0; {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return errorf(ErrMalformed, "malformed packed dims: %v", wireErr(n))
		}
		if err := d.addDim(t, int64(v)); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (d *decoder) addDim(t *Tensor, v int64) error {
	if len(t.Dims) >= d.lim.MaxDims {
		return errorf(ErrLimit, "more than %d dims, the limit", d.lim.MaxDims)
	}
	if v < 0 {
		return errorf(ErrMalformed, "dims[%d] is %d", len(t.Dims), v)
	}
	t.Dims = append(t.Dims, v)
	return nil
}

// countValues adds to have the number of values in a repeated scalar field,
// packed or not, without decoding them. size is the width of a packed value,
// or 0 for varints.
func countValues(f *field, have int64, scalar protowire.Type, size int, name string) (int64, error) {
	packed, err := f.packed(scalar, name)
	if err != nil || !packed {
		return have + 1, err
	}
	var k int64
	if size > 0 {
		k, err = countFixed(f.b, size, name)
	} else {
		k, err = countVarints(f.b, name)
	}
	return have + k, err
}

// product returns the product of dims (1 for none) and true, or false if a
// dim is negative or the product exceeds limit. It never overflows.
func product(dims []int64, limit int64) (int64, bool) {
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
	}
	for _, d := range dims {
		if d == 0 {
			return 0, true
		}
	}
	p := int64(1)
	for _, d := range dims {
		if p > limit/d {
			return 0, false
		}
		p *= d
	}
	return p, true
}

func approxProduct(dims []int64) float64 {
	p := 1.0
	for _, d := range dims {
		p *= float64(d)
	}
	return p
}

// NumElements returns the number of elements the dims of t describe: their
// product, 1 for a scalar (no dims). It fails with ErrMalformed on a negative
// dim and with ErrLimit if the product overflows int64.
func (t *Tensor) NumElements() (int64, error) {
	n, ok := product(t.Dims, math.MaxInt64)
	if ok {
		return n, nil
	}
	for i, d := range t.Dims {
		if d < 0 {
			return 0, errorf(ErrMalformed, "tensor %q: dims[%d] is %d", t.Name, i, d)
		}
	}
	return 0, errorf(ErrLimit, "tensor %q: dims %v make more than 2^63 elements", t.Name, t.Dims)
}

// Float64s returns the values of t converted to float64. It reads every
// numeric type: float, double, float16, bfloat16, the signed and unsigned
// integers, and bool (0 or 1).
func (t *Tensor) Float64s() ([]float64, error) {
	return values[float64](t, false)
}

// Float32s returns the values of t converted to float32, rounding those that
// have no exact float32 (large integers, most doubles). It reads the types
// Float64s reads.
func (t *Tensor) Float32s() ([]float32, error) {
	return values[float32](t, false)
}

// ReadFloat32s converts len(dst) values of t, from element off on, to
// float32 into dst, as Float32s converts them all: a large tensor can so be
// read in pieces, without a copy of the whole of it. It fails as Float32s
// does, and with ErrUnsupported if the range is not within the tensor.
func (t *Tensor) ReadFloat32s(dst []float32, off int64) error {
	n, err := t.check()
	if err != nil {
		return err
	}
	k := int64(len(dst))
	if off < 0 || off > n || k > n-off {
		return errorf(ErrUnsupported, "tensor %q: elements %d to %d of %d requested", t.Name, off, off+k, n)
	}
	part := *t
	if t.RawData != nil {
		size := elemSize(t.DataType)
		part.RawData = t.RawData[off*size : (off+k)*size]
		return fillRaw(dst, &part, false)
	}
	switch typedField(t.DataType) {
	case 0:
		part.FloatData = t.FloatData[off : off+k]
	case 1:
		part.Int32Data = t.Int32Data[off : off+k]
	case 2:
		part.Int64Data = t.Int64Data[off : off+k]
	case 3:
		part.DoubleData = t.DoubleData[off : off+k]
	case 4:
		part.Uint64Data = t.Uint64Data[off : off+k]
	}
	return fillTyped(dst, &part, false)
}

// Int64s returns the values of an integer or bool tensor. It fails with
// ErrUnsupported on floating-point tensors, and on a uint64 value above
// math.MaxInt64.
func (t *Tensor) Int64s() ([]int64, error) {
	switch t.DataType {
	case Float, Double, Float16, Bfloat16:
		return nil, errorf(ErrUnsupported, "tensor %q has element type %v; Int64s reads integer and bool tensors", t.Name, t.DataType)
	}
	return values[int64](t, true)
}

// elemSize returns the width of an element of type dt in raw_data, or 0 for
// the types the accessors do not read.
func elemSize(dt DataType) int64 {
	switch dt {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, Bfloat16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Double, Int64, Uint64:
		return 8
	}
	return 0
}

// typedField returns the index, in typedFields, of the field that holds the
// values of type dt when raw_data is not used.
func typedField(dt DataType) int {
	switch dt {
	case Float:
		return 0
	case Int64:
		return 2
	case Double:
		return 3
	case Uint32, Uint64:
		return 4
	}
	return 1 // int32_data: int32, int16, int8, uint16, uint8, bool, float16, bfloat16
}

var typedFields = [...]string{"float_data", "int32_data", "int64_data", "double_data", "uint64_data"}

// check validates the storage of t for the accessors and returns the number
// of elements, which the stored values have been checked to match.
func (t *Tensor) check() (int64, error) {
	if t.External {
		return 0, errorf(ErrUnsupported, "tensor %q stores its data in an external file, which advcheck does not read", t.Name)
	}
	size := elemSize(t.DataType)
	if size == 0 {
		return 0, errorf(ErrUnsupported, "tensor %q has element type %v, which advcheck does not read", t.Name, t.DataType)
	}
	n, err := t.NumElements()
	if err != nil {
		return 0, err
	}
	lens := [...]int{len(t.FloatData), len(t.Int32Data), len(t.Int64Data), len(t.DoubleData), len(t.Uint64Data)}
	if t.RawData != nil {
		for i, l := range lens {
			if l > 0 {
				return 0, errorf(ErrMalformed, "tensor %q holds values in both raw_data and %s", t.Name, typedFields[i])
			}
		}
		if have := int64(len(t.RawData)); n > have/size || have != n*size {
			return 0, errorf(ErrMalformed, "tensor %q: raw_data holds %d bytes, want %d elements of %d bytes for dims %v", t.Name, have, n, size, t.Dims)
		}
		return n, nil
	}
	want := typedField(t.DataType)
	for i, l := range lens {
		if l > 0 && i != want {
			return 0, errorf(ErrMalformed, "tensor %q of type %v holds values in %s, want %s", t.Name, t.DataType, typedFields[i], typedFields[want])
		}
	}
	if int64(lens[want]) != n {
		return 0, errorf(ErrMalformed, "tensor %q holds %d values in %s, want %d for dims %v", t.Name, lens[want], typedFields[want], n, t.Dims)
	}
	return n, nil
}

// values converts the values of t to T. integer says T is int64, for which a
// uint64 above math.MaxInt64 is an error rather than a rounding.
func values[T float32 | float64 | int64](t *Tensor, integer bool) ([]T, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]T, n)
	if t.RawData != nil {
		err = fillRaw(out, t, integer)
	} else {
		err = fillTyped(out, t, integer)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func fillRaw[T float32 | float64 | int64](out []T, t *Tensor, integer bool) error {
	b, le := t.RawData, binary.LittleEndian
	switch t.DataType {
	case Float:
		for i := range out {
			out[i] = T(math.Float32frombits(le.Uint32(b[4*i:])))
		}
	case Double:
		for i := range out {
			out[i] = T(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case Float16:
		for i := range out {
			out[i] = T(halfToFloat32(le.Uint16(b[2*i:])))
		}
	case Bfloat16:
		for i := range out {
			out[i] = T(bfloat16ToFloat32(le.Uint16(b[2*i:])))
		}
	case Int8:
		for i := range out {
			out[i] = T(int8(b[i]))
		}
	case Uint8:
		for i := range out {
			out[i] = T(b[i])
		}
	case Bool:
		for i := range out {
			if b[i] != 0 {
				out[i] = 1
			}
		}
	case Int16:
		for i := range out {
			out[i] = T(int16(le.Uint16(b[2*i:])))
		}
	case Uint16:
		for i := range out {
			out[i] = T(le.Uint16(b[2*i:]))
		}
	case Int32:
		for i := range out {
			out[i] = T(int32(le.Uint32(b[4*i:])))
		}
	case Uint32:
		for i := range out {
			out[i] = T(le.Uint32(b[4*i:]))
		}
	case Int64:
		for i := range out {
			out[i] = T(int64(le.Uint64(b[8*i:])))
		}
	case Uint64:
		for i := range out {
			v := le.Uint64(b[8*i:])
			if integer && v > math.MaxInt64 {
				return errorf(ErrUnsupported, "tensor %q: raw_data element %d is %d, which does not fit in an int64", t.Name, i, v)
			}
			out[i] = T(v)
		}
	}
	return nil
}

func fillTyped[T float32 | float64 | int64](out []T, t *Tensor, integer bool) error {
	switch t.DataType {
	case Float:
		for i, v := range t.FloatData {
			out[i] = T(v)
		}
	case Double:
		for i, v := range t.DoubleData {
			out[i] = T(v)
		}
	case Int64:
		for i, v := range t.Int64Data {
			out[i] = T(v)
		}
	case Uint32, Uint64:
		for i, v := range t.Uint64Data {
			if t.DataType == Uint32 && v > math.MaxUint32 {
				return errorf(ErrMalformed, "tensor %q: uint64_data[%d] is %d, out of range for %v", t.Name, i, v, t.DataType)
			}
			if integer && v > math.MaxInt64 {
				return errorf(ErrUnsupported, "tensor %q: uint64_data[%d] is %d, which does not fit in an int64", t.Name, i, v)
			}
			out[i] = T(v)
		}
	default: // stored in int32_data
		lo, hi := int32Range(t.DataType)
		for i, v := range t.Int32Data {
			if v < lo || v > hi {
				return errorf(ErrMalformed, "tensor %q: int32_data[%d] is %d, out of range for %v", t.Name, i, v, t.DataType)
			}
			switch t.DataType {
			case Float16:
				out[i] = T(halfToFloat32(uint16(v)))
			case Bfloat16:
				out[i] = T(bfloat16ToFloat32(uint16(v)))
			case Bool:
				if v != 0 {
					out[i] = 1
				}
			default:
				out[i] = T(v)
			}
		}
	}
	return nil
}

// int32Range returns the values int32_data may hold for type dt. Half floats
// are their bits as a uint16; negative values are taken as the same bits
// sign-extended, which some writers produce.
func int32Range(dt DataType) (lo, hi int32) {
	switch dt {
	case Int8:
		return math.MinInt8, math.MaxInt8
	case Uint8:
		return 0, math.MaxUint8
	case Int16:
		return math.MinInt16, math.MaxInt16
	case Uint16:
		return 0, math.MaxUint16
	case Float16, Bfloat16:
		return math.MinInt16, math.MaxUint16
	}
	return math.MinInt32, math.MaxInt32
}

// halfToFloat32 converts IEEE 754 binary16 bits to a float32, exactly:
// subnormals, infinities, NaNs (payload kept) and signed zeros included.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal: rebias the exponent from 15 to 127
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: mant × 2^-24, exact in float32.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// bfloat16ToFloat32 converts bfloat16 bits, the top half of a float32.
func bfloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
