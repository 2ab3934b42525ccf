package npy

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Every error that Read, ReadFile, ReadNPZ and ReadNPZFile
// return for bad input wraps exactly one of them (test with errors.Is); errors
// of the underlying reader or file system are wrapped as they are instead.
var (
	// ErrFormat: the input is not a well-formed .npy or .npz (bad magic,
	// header syntax, truncated or trailing data, corrupt archive).
	ErrFormat = errors.New("npy: malformed file")
	// ErrUnsupported: the input is well formed but holds something this
	// package does not read: object arrays (pickles), structured dtypes,
	// Fortran order, dtypes such as complex or strings, other format versions,
	// encrypted or unusually compressed archive members.
	ErrUnsupported = errors.New("npy: unsupported content")
	// ErrLimit: the input is larger than the Limits allow.
	ErrLimit = errors.New("npy: limit exceeded")
)

// DType is an element type: a NumPy type descriptor without its byte order,
// such as "f4" for float32. Read accepts both byte orders; the Write
// functions always write little-endian.
type DType string

// The element types this package reads and writes.
const (
	Bool    DType = "b1" // bool, held in Array.U8 as 0 or 1
	Uint8   DType = "u1" // held in Array.U8
	Int8    DType = "i1" // held in Array.I64
	Int16   DType = "i2" // held in Array.I64
	Int32   DType = "i4" // held in Array.I64
	Int64   DType = "i8" // held in Array.I64
	Uint16  DType = "u2" // held in Array.I64
	Uint32  DType = "u4" // held in Array.I64
	Uint64  DType = "u8" // held in Array.U64
	Float16 DType = "f2" // half precision, held in Array.F32
	Float32 DType = "f4" // held in Array.F32
	Float64 DType = "f8" // held in Array.F64
)

// storage says which field of Array holds the data of a DType.
type storage int

const (
	stNone storage = iota
	stU8
	stI64
	stU64
	stF32
	stF64
)

func (d DType) storage() storage {
	switch d {
	case Bool, Uint8:
		return stU8
	case Int8, Int16, Int32, Int64, Uint16, Uint32:
		return stI64
	case Uint64:
		return stU64
	case Float16, Float32:
		return stF32
	case Float64:
		return stF64
	}
	return stNone
}

// Size returns the number of bytes of one element in a file, or 0 for a
// DType this package does not know.
func (d DType) Size() int {
	if d.storage() == stNone {
		return 0
	}
	return int(d[1] - '0')
}

// Array is an n-dimensional array read from or written to a .npy file.
//
// The data are in C (row-major) order and in native form, whatever the byte
// order of the file. Exactly one of the slices holds them, chosen by DType as
// the constants document; narrow integer types are widened to int64, half
// precision to float32. The others are nil (an empty array may leave all of
// them nil). For a valid Array the length of
// the data equals the product of Shape (1 for a scalar, whose Shape is empty).
type Array struct {
	Shape []int
	DType DType

	U8  []uint8   // Bool (0 or 1), Uint8
	I64 []int64   // Int8, Int16, Int32, Int64, Uint16, Uint32
	U64 []uint64  // Uint64
	F32 []float32 // Float16, Float32
	F64 []float64 // Float64
}

// Len returns the number of elements held: the length of the data slice
// that DType selects. For a valid Array it equals the product of Shape.
func (a *Array) Len() int {
	switch a.DType.storage() {
	case stU8:
		return len(a.U8)
	case stI64:
		return len(a.I64)
	case stU64:
		return len(a.U64)
	case stF32:
		return len(a.F32)
	case stF64:
		return len(a.F64)
	}
	return 0
}

// Float32s returns the data as float32. For Float16 and Float32 arrays it
// returns a.F32 itself; otherwise a new slice of converted values (rounded to
// the nearest float32).
func (a *Array) Float32s() []float32 {
	if a.DType.storage() == stF32 {
		return a.F32
	}
	out := make([]float32, a.Len())
	switch a.DType.storage() {
	case stU8:
		for i, v := range a.U8 {
			out[i] = float32(v)
		}
	case stI64:
		for i, v := range a.I64 {
			out[i] = float32(v)
		}
	case stU64:
		for i, v := range a.U64 {
			out[i] = float32(v)
		}
	case stF64:
		for i, v := range a.F64 {
			out[i] = float32(v)
		}
	}
	return out
}

// Float64s returns the data as float64. For Float64 arrays it returns a.F64
// itself; otherwise a new slice of converted values (exact except for
// integers beyond 2^53).
func (a *Array) Float64s() []float64 {
	if a.DType.storage() == stF64 {
		return a.F64
	}
	out := make([]float64, a.Len())
	switch a.DType.storage() {
	case stU8:
		for i, v := range a.U8 {
			out[i] = float64(v)
		}
	case stI64:
		for i, v := range a.I64 {
			out[i] = float64(v)
		}
	case stU64:
		for i, v := range a.U64 {
			out[i] = float64(v)
		}
	case stF32:
		for i, v := range a.F32 {
			out[i] = float64(v)
		}
	}
	return out
}

// Int64s returns the data as int64. For arrays held in a.I64 it returns that
// slice itself; otherwise a new slice. It fails if a value has no exact int64
// equivalent: an unsigned 64-bit value above math.MaxInt64, or a float that
// is fractional, infinite, NaN or out of range.
func (a *Array) Int64s() ([]int64, error) {
	if a.DType.storage() == stI64 {
		return a.I64, nil
	}
	out := make([]int64, a.Len())
	switch a.DType.storage() {
	case stU8:
		for i, v := range a.U8 {
			out[i] = int64(v)
		}
	case stU64:
		for i, v := range a.U64 {
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("npy: element %d (%d) does not fit in int64", i, v)
			}
			out[i] = int64(v)
		}
	case stF32:
		for i, v := range a.F32 {
			n, ok := floatToInt64(float64(v))
			if !ok {
				return nil, fmt.Errorf("npy: element %d (%v) is not an int64 integer", i, v)
			}
			out[i] = n
		}
	case stF64:
		for i, v := range a.F64 {
			n, ok := floatToInt64(v)
			if !ok {
				return nil, fmt.Errorf("npy: element %d (%v) is not an int64 integer", i, v)
			}
			out[i] = n
		}
	}
	return out, nil
}

// floatToInt64 converts v if it is an integer in the range of int64.
func floatToInt64(v float64) (int64, bool) {
	// -2^63 is representable exactly; 2^63 is the first value out of range.
	if v != math.Trunc(v) || v < -(1<<63) || v >= 1<<63 {
		return 0, false // NaN and ±Inf fail the first test
	}
	return int64(v), true
}

// check verifies that a is a valid Array: a known DType, at most maxDims
// non-negative dimensions, the data in the right field with the right length, and the
// other fields empty.
func (a *Array) check() error {
	st := a.DType.storage()
	if st == stNone {
		return fmt.Errorf("unknown dtype %q", string(a.DType))
	}
	if len(a.Shape) > maxDims {
		return fmt.Errorf("shape has %d dimensions, at most %d are supported", len(a.Shape), maxDims)
	}
	n, ok := shapeProduct(a.Shape)
	if !ok {
		return fmt.Errorf("invalid shape %v", a.Shape)
	}
	lens := [...]int{stU8: len(a.U8), stI64: len(a.I64), stU64: len(a.U64), stF32: len(a.F32), stF64: len(a.F64)}
	for s := stU8; s <= stF64; s++ {
		if s == st {
			if int64(lens[s]) != n {
				return fmt.Errorf("shape %v needs %d elements, the data has %d", a.Shape, n, lens[s])
			}
		} else if lens[s] != 0 {
			return fmt.Errorf("a %s array must hold its data in one field only", a.DType)
		}
	}
	return nil
}

// shapeProduct returns the number of elements of shape, or false if a
// dimension is negative or the product overflows int.
func shapeProduct(shape []int) (int64, bool) {
	n := int64(1)
	zero := false
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			zero = true
		}
	}
	if zero {
		return 0, true
	}
	for _, d := range shape {
		if n > math.MaxInt/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	return n, true
}

// Limits bound what the readers accept, so that hostile input cannot make
// them allocate or read without bound. Every limit is checked before the
// memory it guards is allocated. A zero or negative field means the value of
// DefaultLimits for that field.
type Limits struct {
	// MaxElements bounds the elements of one array, and in an .npz the
	// elements of all its arrays together.
	MaxElements int64
	// MaxHeaderBytes bounds the length of the dictionary header of a .npy.
	MaxHeaderBytes int
	// MaxFileBytes bounds the size of a .npy file or of an .npz archive, and
	// the uncompressed size of all the members of an .npz together.
	MaxFileBytes int64
	// MaxArrays bounds the number of members of an .npz.
	MaxArrays int
}

// DefaultLimits returns the limits that zero fields of a Limits stand for:
// 2^30 elements (4 GiB of float32, 8 GiB once integers are widened to
// int64), a 64 KiB header, 8 GiB of file, 64 arrays per .npz. Callers that
// know their data should pass tighter ones.
func DefaultLimits() Limits {
	return Limits{
		MaxElements:    1 << 30,
		MaxHeaderBytes: 64 << 10,
		MaxFileBytes:   8 << 30,
		MaxArrays:      64,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxArrays <= 0 {
		l.MaxArrays = d.MaxArrays
	}
	return l
}

// inputError is the error returned for bad input and for I/O failures.
// Its message is a single line: "npy: [context: ]message".
type inputError struct {
	kind error  // ErrFormat, ErrUnsupported, ErrLimit; nil for an I/O error
	ctx  string // where: a path, an archive member; may be empty
	msg  string
	err  error // the underlying I/O error, if any
}

func (e *inputError) Error() string {
	if e.ctx == "" {
		return "npy: " + e.msg
	}
	return "npy: " + e.ctx + ": " + e.msg
}

func (e *inputError) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

func errorf(kind error, format string, args ...any) error {
	return &inputError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// ioError wraps an error of the underlying reader.
func ioError(err error, what string) error {
	return &inputError{msg: what + ": " + err.Error(), err: err}
}

// withContext prefixes the message of err with ctx (a path, a member name).
func withContext(err error, ctx string) error {
	if e, ok := err.(*inputError); ok {
		c := *e
		if c.ctx == "" {
			c.ctx = ctx
		} else {
			c.ctx = ctx + ": " + c.ctx
		}
		return &c
	}
	return &inputError{ctx: ctx, msg: err.Error(), err: err}
}
