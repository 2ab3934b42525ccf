// Package onnx decodes ONNX model files into plain Go values.
//
// Decode (or Read) turns the bytes of a .onnx file, a protobuf ModelProto,
// into a Model: its graph of Nodes with their Attributes, the initializer
// Tensors, and the declared inputs and outputs. Only the parts of onnx.proto
// that advcheck uses are kept; other fields are skipped.
//
//	m, err := onnx.Decode(data, onnx.DefaultLimits())
//	if err != nil {
//		return err // wraps ErrMalformed, ErrLimit or ErrUnsupported
//	}
//	for _, t := range m.Graph.Initializers {
//		w, err := t.Float64s() // any numeric type, from raw_data or the typed fields
//		...
//	}
//
// Model files are untrusted input. Limits bounds the file size, the elements
// of each tensor and of all of them, the nodes, the nesting of subgraphs, the
// tensor rank and the number of decoded items, and every bound is checked
// before the memory it guards is allocated: a small file that declares a
// huge tensor fails with ErrLimit, it does not allocate the tensor. Errors
// name the field where decoding stopped, such as
//
//	onnx: graph.node[12] "conv1" attribute "pads": malformed packed ints: unexpected EOF
//
// The decoder reads the protobuf wire format directly with
// google.golang.org/protobuf/encoding/protowire, without generated code; it
// accepts both the packed and the unpacked encoding of repeated numbers.
package onnx
