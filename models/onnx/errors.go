package onnx

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Errors returned by Decode, Read and the Tensor accessors wrap one of these,
// so callers can tell them apart with errors.Is.
var (
	// ErrMalformed reports bytes that are not a valid ONNX ModelProto, or
	// values that contradict each other (such as a tensor whose data does not
	// match its dims).
	ErrMalformed = errors.New("onnx: malformed model")

	// ErrLimit reports a model that exceeds one of the Limits.
	ErrLimit = errors.New("onnx: model exceeds a limit")

	// ErrUnsupported reports a valid model that uses something this package
	// does not read: an operator set version out of range, external tensor
	// data, string or complex tensors, sparse initializers.
	ErrUnsupported = errors.New("onnx: unsupported")
)

// decodeError is the error type of the package: a kind (one of the sentinels
// above), the field path where it happened and a message. The path is built
// from the inside out as the error travels up through the message decoders;
// each segment carries its own leading separator ('.' or ' ').
type decodeError struct {
	kind error
	path string
	msg  string
}

func (e *decodeError) Error() string {
	path := strings.TrimLeft(e.path, ". ")
	if path == "" {
		return "onnx: " + e.msg
	}
	return "onnx: " + path + ": " + e.msg
}

func (e *decodeError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &decodeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// at prefixes err's path with a segment. It is only called on error paths,
// so the formatting costs nothing when decoding succeeds.
func at(err error, format string, args ...any) error {
	var e *decodeError
	if errors.As(err, &e) {
		e.path = fmt.Sprintf(format, args...) + e.path
		return e
	}
	return err
}

// nameOf returns ` "name"` for the string field num of message b, or "" when
// b has none. Used to name the message in an error, whatever the field order.
func nameOf(b []byte, num protowire.Number) string {
	name := ""
	for len(b) > 0 {
		n, typ, k := protowire.ConsumeTag(b)
		if k < 0 {
			break
		}
		b = b[k:]
		if n == num && typ == protowire.BytesType {
			v, k := protowire.ConsumeBytes(b)
			if k < 0 {
				break
			}
			name = string(v)
			b = b[k:]
			continue
		}
		k = protowire.ConsumeFieldValue(n, typ, b)
		if k < 0 {
			break
		}
		b = b[k:]
	}
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %q", name)
}
