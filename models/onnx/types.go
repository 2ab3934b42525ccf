package onnx

import "fmt"

// The types below mirror the parts of onnx.proto (ModelProto and what it holds)
// that advcheck reads. Field comments give the protobuf field numbers.

// DataType is TensorProto.DataType.
type DataType int32

// The ONNX element types advcheck can meet. Only some are supported as tensor data.
const (
	Undefined  DataType = 0
	Float      DataType = 1
	Uint8      DataType = 2
	Int8       DataType = 3
	Uint16     DataType = 4
	Int16      DataType = 5
	Int32      DataType = 6
	Int64      DataType = 7
	String     DataType = 8
	Bool       DataType = 9
	Float16    DataType = 10
	Double     DataType = 11
	Uint32     DataType = 12
	Uint64     DataType = 13
	Complex64  DataType = 14
	Complex128 DataType = 15
	Bfloat16   DataType = 16

	Float8E4M3FN   DataType = 17
	Float8E4M3FNUZ DataType = 18
	Float8E5M2     DataType = 19
	Float8E5M2FNUZ DataType = 20
	Uint4          DataType = 21
	Int4           DataType = 22
	Float4E2M1     DataType = 23
	Float8E8M0     DataType = 24
	Uint2          DataType = 25
	Int2           DataType = 26
)

var dataTypeNames = [...]string{
	"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
	"STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
	"COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
	"FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2",
}

// String returns the onnx.proto name of t, such as "FLOAT", or "DataType(99)".
func (t DataType) String() string {
	if t >= 0 && int(t) < len(dataTypeNames) {
		return dataTypeNames[t]
	}
	return fmt.Sprintf("DataType(%d)", int32(t))
}

// AttrType is AttributeProto.AttributeType.
type AttrType int32

// Attribute types.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
	AttrTensors   AttrType = 9
	AttrGraphs    AttrType = 10

	// Sparse tensors and type protos are listed for completeness; the
	// decoder keeps the type but skips their values.
	AttrSparseTensor  AttrType = 11
	AttrSparseTensors AttrType = 12
	AttrTypeProto     AttrType = 13
	AttrTypeProtos    AttrType = 14
)

var attrTypeNames = [...]string{
	"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
	"STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS",
	"TYPE_PROTO", "TYPE_PROTOS",
}

// String returns the onnx.proto name of t, such as "INTS", or "AttrType(99)".
func (t AttrType) String() string {
	if t >= 0 && int(t) < len(attrTypeNames) {
		return attrTypeNames[t]
	}
	return fmt.Sprintf("AttrType(%d)", int32(t))
}

// Model is a decoded ModelProto.
type Model struct {
	IRVersion       int64          // 1
	Opsets          []OpsetImport  // 8
	ProducerName    string         // 2
	ProducerVersion string         // 3
	Domain          string         // 4
	ModelVersion    int64          // 5
	DocString       string         // 6
	Graph           *Graph         // 7
	Metadata        []StringString // 14
}

// OpsetImport is OperatorSetIdProto.
type OpsetImport struct {
	Domain  string // 1 ("" and "ai.onnx" both mean the default domain)
	Version int64  // 2
}

// StringString is StringStringEntryProto.
type StringString struct {
	Key   string // 1
	Value string // 2
}

// Graph is a decoded GraphProto.
type Graph struct {
	Name         string       // 2
	Nodes        []*Node      // 1
	Initializers []*Tensor    // 5
	DocString    string       // 10
	Inputs       []*ValueInfo // 11
	Outputs      []*ValueInfo // 12
	ValueInfo    []*ValueInfo // 13
}

// Node is a decoded NodeProto.
type Node struct {
	Inputs    []string     // 1 (an empty name is an omitted optional input)
	Outputs   []string     // 2
	Name      string       // 3
	OpType    string       // 4
	Domain    string       // 7
	Attrs     []*Attribute // 5
	DocString string       // 6
}

// Attribute is a decoded AttributeProto.
type Attribute struct {
	Name    string    // 1
	Type    AttrType  // 20
	F       float32   // 2
	I       int64     // 3
	S       []byte    // 4
	T       *Tensor   // 5
	G       *Graph    // 6
	Floats  []float32 // 7
	Ints    []int64   // 8
	Strings [][]byte  // 9
	Tensors []*Tensor // 10
	Graphs  []*Graph  // 11
	RefAttr string    // 21 (ref_attr_name; only valid inside functions)
}

// Tensor is a decoded TensorProto. Exactly one of the data fields holds the
// values, as the writer chose; use the accessor methods (Float64s, Float32s,
// Int64s) rather than the fields.
type Tensor struct {
	Dims       []int64   // 1
	DataType   DataType  // 2
	Name       string    // 8
	FloatData  []float32 // 4 (float_data)
	Int32Data  []int32   // 5 (int32_data; also uint8, int8, uint16, int16, bool, float16)
	Int64Data  []int64   // 7 (int64_data)
	DoubleData []float64 // 10 (double_data)
	Uint64Data []uint64  // 11 (uint64_data)
	RawData    []byte    // 9 (raw_data, little-endian)
	External   bool      // 14 data_location == EXTERNAL, or external_data (13) present
	DocString  string    // 12
}

// ValueInfo is a decoded ValueInfoProto with a tensor type. Other types
// (sequence, map, optional, sparse tensor) are only flagged by NotTensor.
type ValueInfo struct {
	Name      string   // 1
	ElemType  DataType // type(2).tensor_type(1).elem_type(1)
	HasShape  bool     // tensor_type.shape(2) present
	Dims      []Dim    // shape.dim(1)
	NotTensor bool     // type holds sequence_type(4), map_type(5), sparse_tensor_type(8) or optional_type(9)
}

// Dim is TensorShapeProto.Dimension: a known value, a named parameter, or unknown.
type Dim struct {
	Value int64  // 1 (dim_value), valid when Known
	Param string // 2 (dim_param)
	Known bool
}
