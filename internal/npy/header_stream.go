package npy

import (
	"math"
)

// Header describes the array of a .npy file without its data, for reading
// the data by offset: element i starts at DataOffset + i·DType.Size().
type Header struct {
	Shape      []int
	DType      DType
	BigEndian  bool  // the file's elements are big-endian
	DataOffset int64 // where the data start
	DataBytes  int64 // the data's length: the product of Shape times DType.Size()
}

// ReadFileHeader reads and checks the header of the .npy file at path, as
// ReadFile does (limits, dtype, C order), and checks that the file holds
// exactly the data the header declares, without reading them. Errors name
// the path.
func ReadFileHeader(path string, lim Limits) (*Header, error) {
	lim = lim.withDefaults()
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &inputError{msg: err.Error(), err: err}
	}
	h, err := readHeader(f, lim, lim.MaxElements, st.Size())
	if err != nil {
		return nil, withContext(err, path)
	}
	return h, nil
}

// Float32s converts raw, whole elements of h's dtype as stored in the file,
// into dst (one value per element) as Array.Float32s converts them: floats
// rounded to the nearest float32, integers and bools as their values.
func (h *Header) Float32s(dst []float32, raw []byte) {
	big := h.BigEndian
	switch h.DType {
	case Bool:
		for i := range dst {
			dst[i] = float32(min(raw[i], 1))
		}
	case Uint8:
		for i := range dst {
			dst[i] = float32(raw[i])
		}
	case Int8:
		for i := range dst {
			dst[i] = float32(int8(raw[i]))
		}
	case Int16:
		for i := range dst {
			dst[i] = float32(int16(u16(raw[2*i:], big)))
		}
	case Uint16:
		for i := range dst {
			dst[i] = float32(u16(raw[2*i:], big))
		}
	case Float16:
		for i := range dst {
			dst[i] = halfToFloat32(u16(raw[2*i:], big))
		}
	case Int32:
		for i := range dst {
			dst[i] = float32(int64(int32(u32(raw[4*i:], big))))
		}
	case Uint32:
		for i := range dst {
			dst[i] = float32(int64(u32(raw[4*i:], big)))
		}
	case Float32:
		for i := range dst {
			dst[i] = math.Float32frombits(u32(raw[4*i:], big))
		}
	case Int64:
		for i := range dst {
			dst[i] = float32(int64(u64(raw[8*i:], big)))
		}
	case Uint64:
		for i := range dst {
			dst[i] = float32(u64(raw[8*i:], big))
		}
	case Float64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(u64(raw[8*i:], big)))
		}
	}
}
