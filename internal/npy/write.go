package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WriteFloat32 writes data, of the given shape, as a float32 .npy.
func WriteFloat32(w io.Writer, shape []int, data []float32) error {
	return Write(w, &Array{Shape: shape, DType: Float32, F32: data})
}

// WriteFloat64 writes data, of the given shape, as a float64 .npy.
func WriteFloat64(w io.Writer, shape []int, data []float64) error {
	return Write(w, &Array{Shape: shape, DType: Float64, F64: data})
}

// WriteInt64 writes data, of the given shape, as an int64 .npy.
func WriteInt64(w io.Writer, shape []int, data []int64) error {
	return Write(w, &Array{Shape: shape, DType: Int64, I64: data})
}

// WriteUint8 writes data, of the given shape, as a uint8 .npy.
func WriteUint8(w io.Writer, shape []int, data []uint8) error {
	return Write(w, &Array{Shape: shape, DType: Uint8, U8: data})
}

// Write writes a as a .npy of its DType, little-endian and in C order, with
// the header NumPy itself would write (format version 1.0), so the bytes are
// those of np.save. Nonzero Bool values are written as 1; Float16 values are
// rounded to the nearest half (overflowing to infinity). Write checks a
// before writing anything and fails, writing nothing, if the data do not
// match the shape or an integer does not fit the DType.
func Write(w io.Writer, a *Array) error {
	if err := a.checkWrite(); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if _, err := w.Write(formatHeader(a.DType, a.Shape)); err != nil {
		return err
	}
	if a.DType == Uint8 {
		_, err := w.Write(a.U8)
		return err
	}
	// Encode a chunk at a time.
	buf := make([]byte, 0, min(chunkBytes, a.Len()*a.DType.Size()))
	var err error
	put := func(b []byte) []byte {
		if len(b) < chunkBytes-8 {
			return b
		}
		if err == nil {
			_, err = w.Write(b)
		}
		return b[:0] // after an error, encode on without writing
	}
	le := binary.LittleEndian
	switch a.DType {
	case Bool:
		for _, v := range a.U8 {
			buf = put(append(buf, min(v, 1)))
		}
	case Int8:
		for _, v := range a.I64 {
			buf = put(append(buf, byte(v)))
		}
	case Int16, Uint16:
		for _, v := range a.I64 {
			buf = put(le.AppendUint16(buf, uint16(v)))
		}
	case Int32, Uint32:
		for _, v := range a.I64 {
			buf = put(le.AppendUint32(buf, uint32(v)))
		}
	case Int64:
		for _, v := range a.I64 {
			buf = put(le.AppendUint64(buf, uint64(v)))
		}
	case Uint64:
		for _, v := range a.U64 {
			buf = put(le.AppendUint64(buf, v))
		}
	case Float16:
		for _, v := range a.F32 {
			buf = put(le.AppendUint16(buf, float32ToHalf(v)))
		}
	case Float32:
		for _, v := range a.F32 {
			buf = put(le.AppendUint32(buf, math.Float32bits(v)))
		}
	case Float64:
		for _, v := range a.F64 {
			buf = put(le.AppendUint64(buf, math.Float64bits(v)))
		}
	}
	if err == nil && len(buf) > 0 {
		_, err = w.Write(buf)
	}
	return err
}

// checkWrite checks a as Write needs it: valid, and every integer in the
// range of its DType.
func (a *Array) checkWrite() error {
	if a == nil {
		return errors.New("nil array")
	}
	if err := a.check(); err != nil {
		return err
	}
	var lo, hi int64
	switch a.DType {
	case Int8:
		lo, hi = math.MinInt8, math.MaxInt8
	case Int16:
		lo, hi = math.MinInt16, math.MaxInt16
	case Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	case Uint16:
		lo, hi = 0, math.MaxUint16
	case Uint32:
		lo, hi = 0, math.MaxUint32
	default:
		return nil
	}
	for i, v := range a.I64 {
		if v < lo || v > hi {
			return fmt.Errorf("element %d (%d) does not fit dtype %s", i, v, a.DType)
		}
	}
	return nil
}

// halfToFloat32 converts IEEE 754 half-precision bits to float32 (exactly).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // infinity or NaN, keeping the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero or subnormal: mant × 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// float32ToHalf converts f to the nearest half-precision value (ties to even),
// as NumPy's astype(np.float16) does: overflow gives infinity, NaN stays NaN.
func float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		h := uint16(mant >> 13)
		if h == 0 {
			h = 1 // the payload was in the dropped bits; stay a NaN
		}
		return sign | 0x7c00 | h
	}
	e := exp - 127 + 15 // the half exponent field, if normal
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half: the value in units of 2^-24 is full >> (14-e).
		if exp == 0 {
			return sign // float32 zero or subnormal: far below half's range
		}
		s := uint(14 - e)
		if s > 24 {
			return sign
		}
		full := mant | 0x800000
		q := full >> s
		rem := full & (1<<s - 1)
		half := uint32(1) << (s - 1)
		if rem > half || rem == half && q&1 == 1 {
			q++
		}
		return sign | uint16(q)
	}
	h := sign | uint16(e)<<10 | uint16(mant>>13)
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to infinity: correct
	}
	return h
}
