package onnx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/encoding/protowire"
)

// Decode decodes the bytes of an ONNX file (a serialized ModelProto) under the
// limits lim. The model must import the default operator set with a version
// in [lim.MinOpset, lim.MaxOpset].
//
// The RawData of the returned tensors shares memory with data: data must not
// be modified while the Model is in use.
//
// Errors wrap ErrMalformed, ErrLimit or ErrUnsupported and name the field
// where decoding stopped, such as
//
//	onnx: graph.node[12] "conv1" attribute "pads": malformed packed ints: unexpected EOF
func Decode(data []byte, lim Limits) (*Model, error) {
	lim = lim.orDefault()
	if int64(len(data)) > lim.MaxBytes {
		return nil, errorf(ErrLimit, "the model is %d bytes, over the limit of %d", len(data), lim.MaxBytes)
	}
	d := &decoder{lim: lim}
	return d.model(data)
}

// Read reads an ONNX file from r and decodes it with Decode. It reads at most
// lim.MaxBytes+1 bytes and fails with ErrLimit, without decoding, if r holds
// more than lim.MaxBytes.
func Read(r io.Reader, lim Limits) (*Model, error) {
	lim = lim.orDefault()
	n := lim.MaxBytes
	if n < math.MaxInt64 {
		n++
	}
	data, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, fmt.Errorf("onnx: reading the model: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, errorf(ErrLimit, "the model is more than %d bytes, the limit", lim.MaxBytes)
	}
	return Decode(data, lim)
}

// OpsetVersion returns the version of the operator set the model imports for
// domain. "" and "ai.onnx" both name the default domain.
func (m *Model) OpsetVersion(domain string) (int64, bool) {
	if m == nil {
		return 0, false
	}
	for _, o := range m.Opsets {
		if o.Domain == domain || isDefaultDomain(o.Domain) && isDefaultDomain(domain) {
			return o.Version, true
		}
	}
	return 0, false
}

// Attr returns the attribute of n called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	if n == nil {
		return nil
	}
	for _, a := range n.Attrs {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func isDefaultDomain(d string) bool { return d == "" || d == "ai.onnx" }

// decoder holds the limits and the running counts they are checked against.
type decoder struct {
	lim   Limits
	nodes int
	items int
	total int64 // tensor elements and attribute values so far
}

// item accounts for one more decoded item (see Limits.MaxItems).
func (d *decoder) item() error {
	if d.items >= d.lim.MaxItems {
		return errorf(ErrLimit, "more than %d items (nodes, names, attributes, tensors, dimensions) in the model", d.lim.MaxItems)
	}
	d.items++
	return nil
}

// reserve accounts for n more values in a list that already holds have.
func (d *decoder) reserve(have, n int64) error {
	if n > d.lim.MaxTensorElements-have {
		return errorf(ErrLimit, "%d values, over the limit of %d per tensor", have+n, d.lim.MaxTensorElements)
	}
	if n > d.lim.MaxTotalElements-d.total {
		return errorf(ErrLimit, "more than %d tensor elements in the model", d.lim.MaxTotalElements)
	}
	d.total += n
	return nil
}

// field is one decoded field of a message: u holds varint and fixed values,
// b the payload of a length-delimited field (a subslice of the input).
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
}

// nextField reads a field from b and returns it with its encoded length.
// Groups are skipped whole (ONNX has none, but they are valid protobuf);
// lengths are checked against what is left of b.
func nextField(b []byte) (field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, 0, errorf(ErrMalformed, "bad field tag: %v", wireErr(n))
	}
	f := field{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.u, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.u = uint64(v)
	case protowire.Fixed64Type:
		f.u, m = protowire.ConsumeFixed64(b[n:])
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return field{}, 0, errorf(ErrMalformed, "field %d (%s): %v", num, wireName(typ), wireErr(m))
	}
	return f, n + m, nil
}

// wireErr describes a protowire error code, without the "proto:" prefix
// (followed by a space that protobuf randomizes between a plain and a
// non-breaking one, so that no one matches on its messages).
func wireErr(n int) string {
	msg := protowire.ParseError(n).Error()
	if rest, ok := strings.CutPrefix(msg, "proto:"); ok {
		msg = strings.TrimLeftFunc(rest, unicode.IsSpace)
	}
	return msg
}

func wireName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "varint"
	case protowire.Fixed32Type:
		return "fixed32"
	case protowire.Fixed64Type:
		return "fixed64"
	case protowire.BytesType:
		return "length-delimited"
	case protowire.StartGroupType:
		return "group start"
	case protowire.EndGroupType:
		return "group end"
	}
	return fmt.Sprintf("wire type %d", t)
}

func (f *field) want(typ protowire.Type, name string) error {
	if f.typ != typ {
		return errorf(ErrMalformed, "field %s (%d) is %s, want %s", name, f.num, wireName(f.typ), wireName(typ))
	}
	return nil
}

func (f *field) str(name string) (string, error) {
	if err := f.want(protowire.BytesType, name); err != nil {
		return "", err
	}
	return string(f.b), nil
}

func (f *field) msg(name string) ([]byte, error) {
	if err := f.want(protowire.BytesType, name); err != nil {
		return nil, err
	}
	return f.b, nil
}

func (f *field) varint(name string) (uint64, error) {
	if err := f.want(protowire.VarintType, name); err != nil {
		return 0, err
	}
	return f.u, nil
}

// packed reports whether a repeated scalar field of the given wire type
// arrived packed (length-delimited) or as a single value, and fails on any
// other wire type.
func (f *field) packed(scalar protowire.Type, name string) (bool, error) {
	switch f.typ {
	case protowire.BytesType:
		return true, nil
	case scalar:
		return false, nil
	}
	return false, errorf(ErrMalformed, "field %s (%d) is %s, want %s or packed", name, f.num, wireName(f.typ), wireName(scalar))
}

// countVarints returns the number of varints in a packed payload without
// decoding them.
func countVarints(b []byte, name string) (int64, error) {
	if len(b) > 0 && b[len(b)-1] >= 0x80 {
		return 0, errorf(ErrMalformed, "malformed packed %s: %v", name, wireErr(-1))
	}
	var n int64
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n, nil
}

// countFixed returns the number of size-byte values in a packed payload.
func countFixed(b []byte, size int, name string) (int64, error) {
	if len(b)%size != 0 {
		return 0, errorf(ErrMalformed, "malformed packed %s: %d bytes is not a multiple of %d", name, len(b), size)
	}
	return int64(len(b) / size), nil
}

// appendVarints decodes a packed payload of varints onto dst, whose capacity
// the caller has checked and grown.
func appendVarints[T int32 | int64 | uint64](dst []T, b []byte, name string) ([]T, error) {
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return dst, errorf(ErrMalformed, "malformed packed %s: %v", name, wireErr(n))
		}
		dst = append(dst, T(v))
		b = b[n:]
	}
	return dst, nil
}

func appendFloats(dst []float32, b []byte) []float32 {
	for ; len(b) >= 4; b = b[4:] {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b)))
	}
	return dst
}

func appendDoubles(dst []float64, b []byte) []float64 {
	for ; len(b) >= 8; b = b[8:] {
		dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)))
	}
	return dst
}

func (d *decoder) model(b []byte) (*Model, error) {
	m := &Model{}
	var graph []byte
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			var v uint64
			v, err = f.varint("ir_version")
			m.IRVersion = int64(v)
		case 2:
			m.ProducerName, err = f.str("producer_name")
		case 3:
			m.ProducerVersion, err = f.str("producer_version")
		case 4:
			m.Domain, err = f.str("domain")
		case 5:
			var v uint64
			v, err = f.varint("model_version")
			m.ModelVersion = int64(v)
		case 6:
			m.DocString, err = f.str("doc_string")
		case 7:
			if graph != nil {
				return nil, errorf(ErrMalformed, "the model holds more than one graph")
			}
			if graph, err = f.msg("graph"); err == nil && graph == nil {
				graph = []byte{}
			}
		case 8:
			var o OpsetImport
			if o, err = d.opset(&f); err != nil {
				return nil, at(err, ".opset_import[%d]", len(m.Opsets))
			}
			m.Opsets = append(m.Opsets, o)
		case 14:
			var e StringString
			if e, err = d.entry(&f, "metadata_props"); err != nil {
				return nil, at(err, ".metadata_props[%d]", len(m.Metadata))
			}
			m.Metadata = append(m.Metadata, e)
		}
		if err != nil {
			return nil, err
		}
	}
	if graph == nil {
		return nil, errorf(ErrMalformed, "the model has no graph")
	}
	if err := d.checkOpset(m); err != nil {
		return nil, err
	}
	g, err := d.graph(graph, 1)
	if err != nil {
		return nil, at(err, ".graph")
	}
	m.Graph = g
	return m, nil
}

func (d *decoder) checkOpset(m *Model) error {
	found := false
	var version int64
	for i, o := range m.Opsets {
		if !isDefaultDomain(o.Domain) {
			continue
		}
		if found && o.Version != version {
			return at(errorf(ErrMalformed, "the default operator set is imported twice, as versions %d and %d", version, o.Version), ".opset_import[%d]", i)
		}
		found, version = true, o.Version
	}
	if !found {
		return errorf(ErrUnsupported, "the model does not import the default operator set (ai.onnx)")
	}
	if version < d.lim.MinOpset || version > d.lim.MaxOpset {
		return errorf(ErrUnsupported, "default operator set version %d; advcheck reads versions %d to %d", version, d.lim.MinOpset, d.lim.MaxOpset)
	}
	return nil
}

func (d *decoder) opset(f *field) (OpsetImport, error) {
	var o OpsetImport
	b, err := f.msg("opset_import")
	if err != nil {
		return o, err
	}
	if err := d.item(); err != nil {
		return o, err
	}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return o, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			o.Domain, err = f.str("domain")
		case 2:
			var v uint64
			v, err = f.varint("version")
			o.Version = int64(v)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// entry decodes a StringStringEntryProto.
func (d *decoder) entry(f *field, name string) (StringString, error) {
	var e StringString
	b, err := f.msg(name)
	if err != nil {
		return e, err
	}
	if err := d.item(); err != nil {
		return e, err
	}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return e, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			e.Key, err = f.str("key")
		case 2:
			e.Value, err = f.str("value")
		}
		if err != nil {
			return e, err
		}
	}
	return e, nil
}

// graph decodes a GraphProto at nesting level depth (the main graph is 1).
func (d *decoder) graph(b []byte, depth int) (*Graph, error) {
	if depth > d.lim.MaxDepth {
		return nil, errorf(ErrLimit, "graphs nested more than %d levels deep", d.lim.MaxDepth)
	}
	if err := d.item(); err != nil {
		return nil, err
	}
	g := &Graph{}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			i := len(g.Nodes)
			var nb []byte
			if nb, err = f.msg("node"); err != nil {
				break
			}
			if d.nodes >= d.lim.MaxNodes {
				return nil, at(errorf(ErrLimit, "more than %d nodes", d.lim.MaxNodes), ".node[%d]", i)
			}
			d.nodes++
			var nd *Node
			if nd, err = d.node(nb, depth); err != nil {
				return nil, at(err, ".node[%d]%s", i, nameOf(nb, 3))
			}
			g.Nodes = append(g.Nodes, nd)
		case 2:
			g.Name, err = f.str("name")
		case 5:
			i := len(g.Initializers)
			var tb []byte
			if tb, err = f.msg("initializer"); err != nil {
				break
			}
			var t *Tensor
			if t, err = d.tensor(tb); err != nil {
				return nil, at(err, ".initializer[%d]%s", i, nameOf(tb, 8))
			}
			g.Initializers = append(g.Initializers, t)
		case 10:
			g.DocString, err = f.str("doc_string")
		case 11, 12, 13:
			list, name := &g.Inputs, "input"
			if f.num == 12 {
				list, name = &g.Outputs, "output"
			} else if f.num == 13 {
				list, name = &g.ValueInfo, "value_info"
			}
			var vb []byte
			if vb, err = f.msg(name); err != nil {
				break
			}
			var v *ValueInfo
			if v, err = d.valueInfo(vb); err != nil {
				return nil, at(err, ".%s[%d]%s", name, len(*list), nameOf(vb, 1))
			}
			*list = append(*list, v)
		case 15:
			err = at(errorf(ErrUnsupported, "sparse initializers are not supported"), ".sparse_initializer[0]")
		}
		if err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (d *decoder) node(b []byte, depth int) (*Node, error) {
	nd := &Node{}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch f.num {
		case 1, 2:
			list, name := &nd.Inputs, "input"
			if f.num == 2 {
				list, name = &nd.Outputs, "output"
			}
			var s string
			if s, err = f.str(name); err != nil {
				break
			}
			if err = d.item(); err != nil {
				break
			}
			*list = append(*list, s)
		case 3:
			nd.Name, err = f.str("name")
		case 4:
			nd.OpType, err = f.str("op_type")
		case 5:
			i := len(nd.Attrs)
			var ab []byte
			if ab, err = f.msg("attribute"); err != nil {
				break
			}
			var a *Attribute
			if a, err = d.attribute(ab, depth); err != nil {
				if name := nameOf(ab, 1); name != "" {
					return nil, at(err, " attribute%s", name)
				}
				return nil, at(err, " attribute[%d]", i)
			}
			nd.Attrs = append(nd.Attrs, a)
		case 6:
			nd.DocString, err = f.str("doc_string")
		case 7:
			nd.Domain, err = f.str("domain")
		}
		if err != nil {
			return nil, err
		}
	}
	return nd, nil
}

func (d *decoder) attribute(b []byte, depth int) (*Attribute, error) {
	if err := d.item(); err != nil {
		return nil, err
	}
	a := &Attribute{}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			a.Name, err = f.str("name")
		case 20:
			var v uint64
			v, err = f.varint("type")
			a.Type = AttrType(int32(v))
		case 2:
			if err = f.want(protowire.Fixed32Type, "f"); err == nil {
				a.F = math.Float32frombits(uint32(f.u))
			}
		case 3:
			var v uint64
			v, err = f.varint("i")
			a.I = int64(v)
		case 4:
			var s []byte
			if s, err = f.msg("s"); err == nil {
				a.S = bytes.Clone(s)
			}
		case 5:
			var tb []byte
			if tb, err = f.msg("t"); err != nil {
				break
			}
			if a.T != nil {
				return nil, errorf(ErrMalformed, "the attribute holds more than one tensor in t")
			}
			if a.T, err = d.tensor(tb); err != nil {
				return nil, at(err, " t%s", nameOf(tb, 8))
			}
		case 6:
			var gb []byte
			if gb, err = f.msg("g"); err != nil {
				break
			}
			if a.G != nil {
				return nil, errorf(ErrMalformed, "the attribute holds more than one graph in g")
			}
			if a.G, err = d.graph(gb, depth+1); err != nil {
				return nil, at(err, " g")
			}
		case 7:
			a.Floats, err = d.floats(&f, a.Floats)
		case 8:
			a.Ints, err = d.ints(&f, a.Ints)
		case 9:
			var s []byte
			if s, err = f.msg("strings"); err != nil {
				break
			}
			if err = d.reserve(int64(len(a.Strings)), 1); err != nil {
				break
			}
			a.Strings = append(a.Strings, bytes.Clone(s))
		case 10:
			var tb []byte
			if tb, err = f.msg("tensors"); err != nil {
				break
			}
			var t *Tensor
			if t, err = d.tensor(tb); err != nil {
				return nil, at(err, " tensors[%d]%s", len(a.Tensors), nameOf(tb, 8))
			}
			a.Tensors = append(a.Tensors, t)
		case 11:
			var gb []byte
			if gb, err = f.msg("graphs"); err != nil {
				break
			}
			var g *Graph
			if g, err = d.graph(gb, depth+1); err != nil {
				return nil, at(err, " graphs[%d]", len(a.Graphs))
			}
			a.Graphs = append(a.Graphs, g)
		case 21:
			a.RefAttr, err = f.str("ref_attr_name")
		}
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

// floats appends the values of a floats field, packed or not, to dst.
func (d *decoder) floats(f *field, dst []float32) ([]float32, error) {
	packed, err := f.packed(protowire.Fixed32Type, "floats")
	if err != nil {
		return dst, err
	}
	if !packed {
		if err := d.reserve(int64(len(dst)), 1); err != nil {
			return dst, err
		}
		return append(dst, math.Float32frombits(uint32(f.u))), nil
	}
	k, err := countFixed(f.b, 4, "floats")
	if err != nil {
		return dst, err
	}
	if err := d.reserve(int64(len(dst)), k); err != nil {
		return dst, err
	}
	return appendFloats(slices.Grow(dst, int(k)), f.b), nil
}

// ints appends the values of an ints field, packed or not, to dst.
func (d *decoder) ints(f *field, dst []int64) ([]int64, error) {
	packed, err := f.packed(protowire.VarintType, "ints")
	if err != nil {
		return dst, err
	}
	if !packed {
		if err := d.reserve(int64(len(dst)), 1); err != nil {
			return dst, err
		}
		return append(dst, int64(f.u)), nil
	}
	k, err := countVarints(f.b, "ints")
	if err != nil {
		return dst, err
	}
	if err := d.reserve(int64(len(dst)), k); err != nil {
		return dst, err
	}
	return appendVarints(slices.Grow(dst, int(k)), f.b, "ints")
}

func (d *decoder) valueInfo(b []byte) (*ValueInfo, error) {
	if err := d.item(); err != nil {
		return nil, err
	}
	v := &ValueInfo{}
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			v.Name, err = f.str("name")
		case 2:
			var tb []byte
			if tb, err = f.msg("type"); err != nil {
				break
			}
			if err = d.typeProto(tb, v); err != nil {
				return nil, at(err, " type")
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// typeProto decodes a TypeProto into v. Only tensor_type is read; the other
// members of the oneof mark v as NotTensor.
func (d *decoder) typeProto(b []byte, v *ValueInfo) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			var tb []byte
			if tb, err = f.msg("tensor_type"); err != nil {
				return err
			}
			v.ElemType, v.HasShape, v.Dims, v.NotTensor = Undefined, false, nil, false
			if err := d.tensorType(tb, v); err != nil {
				return at(err, ".tensor_type")
			}
		case 4, 5, 8, 9: // sequence_type, map_type, sparse_tensor_type, optional_type
			if _, err := f.msg("value"); err != nil {
				return err
			}
			v.ElemType, v.HasShape, v.Dims, v.NotTensor = Undefined, false, nil, true
		}
	}
	return nil
}

func (d *decoder) tensorType(b []byte, v *ValueInfo) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		switch f.num {
		case 1:
			var t uint64
			t, err = f.varint("elem_type")
			v.ElemType = DataType(int32(t))
		case 2:
			var sb []byte
			if sb, err = f.msg("shape"); err != nil {
				break
			}
			v.HasShape = true
			if err = d.shape(sb, v); err != nil {
				return at(err, ".shape")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) shape(b []byte, v *ValueInfo) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.num != 1 {
			continue
		}
		db, err := f.msg("dim")
		if err != nil {
			return err
		}
		if len(v.Dims) >= d.lim.MaxDims {
			return errorf(ErrLimit, "more than %d dims, the limit", d.lim.MaxDims)
		}
		if err := d.item(); err != nil {
			return err
		}
		dim, err := dimension(db)
		if err != nil {
			return at(err, ".dim[%d]", len(v.Dims))
		}
		v.Dims = append(v.Dims, dim)
	}
	return nil
}

func dimension(b []byte) (Dim, error) {
	var dim Dim
	for len(b) > 0 {
		f, n, err := nextField(b)
		if err != nil {
			return dim, err
		}
		b = b[n:]
		switch f.num {
		case 1:
			var v uint64
			if v, err = f.varint("dim_value"); err != nil {
				return dim, err
			}
			dim = Dim{Value: int64(v), Known: true}
		case 2:
			var s string
			if s, err = f.str("dim_param"); err != nil {
				return dim, err
			}
			dim = Dim{Param: s}
		}
	}
	return dim, nil
}
