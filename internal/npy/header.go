package npy

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// magic opens every .npy file; the format version follows it.
const magic = "\x93NUMPY"

// maxDims bounds the dimensions of an array (NumPy allows 64).
const maxDims = 64

// msgPickle is the message for object arrays and structured dtypes.
const msgPickle = "object arrays (pickles) are not supported"

// header is the content of the dictionary header of a .npy file.
type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader parses the dictionary header strictly: a Python dict literal
// with exactly the keys 'descr' (a string), 'fortran_order' (True or False)
// and 'shape' (a tuple of non-negative integers), in any order, with an
// optional trailing comma, surrounded by whitespace. Nothing is evaluated.
// A list descr (a structured dtype) is reported as unsupported as soon as it
// is seen. py2 is true for version 1.0 files, which may spell integers with
// Python 2's "L" suffix.
func parseHeader(b []byte, py2 bool) (header, error) {
	p := headerParser{s: b, py2: py2}
	var h header
	var seen [3]bool
	p.ws()
	if !p.eat('{') {
		return h, p.fail("header is not a dict")
	}
	for {
		p.ws()
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, err
		}
		p.ws()
		if !p.eat(':') {
			return h, p.fail("expected ':'")
		}
		p.ws()
		switch key {
		case "descr":
			if seen[0] {
				return h, p.fail("duplicate key 'descr'")
			}
			seen[0] = true
			if p.peek() == '[' {
				return h, errorf(ErrUnsupported, "%s (structured dtype)", msgPickle)
			}
			if h.descr, err = p.str(); err != nil {
				return h, err
			}
		case "fortran_order":
			if seen[1] {
				return h, p.fail("duplicate key 'fortran_order'")
			}
			seen[1] = true
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return h, p.fail("fortran_order is not True or False")
			}
		case "shape":
			if seen[2] {
				return h, p.fail("duplicate key 'shape'")
			}
			seen[2] = true
			if h.shape, err = p.tuple(); err != nil {
				return h, err
			}
		default:
			return h, p.fail("unexpected key " + strconv.Quote(key))
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return h, p.fail("expected ',' or '}'")
	}
	p.ws()
	if p.i != len(p.s) {
		return h, p.fail("unexpected text after the dict")
	}
	for i, k := range [...]string{"descr", "fortran_order", "shape"} {
		if !seen[i] {
			return h, errorf(ErrFormat, "header has no '%s'", k)
		}
	}
	return h, nil
}

type headerParser struct {
	s   []byte
	i   int
	py2 bool
}

func (p *headerParser) fail(what string) error {
	return errorf(ErrFormat, "bad header at byte %d: %s", p.i, what)
}

func (p *headerParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *headerParser) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

func (p *headerParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// word consumes w if it is next and not followed by an identifier character.
func (p *headerParser) word(w string) bool {
	if !strings.HasPrefix(string(p.s[p.i:min(len(p.s), p.i+len(w))]), w) {
		return false
	}
	if j := p.i + len(w); j < len(p.s) && isIdent(p.s[j]) {
		return false
	}
	p.i += len(w)
	return true
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// str parses a quoted string of printable ASCII without escapes.
func (p *headerParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.fail("expected a string")
	}
	start := p.i + 1
	for j := start; j < len(p.s); j++ {
		c := p.s[j]
		if c == q {
			p.i = j + 1
			return string(p.s[start:j]), nil
		}
		if c == '\\' || c < 0x20 || c > 0x7e {
			p.i = j
			return "", p.fail("unsupported character in string")
		}
	}
	p.i = len(p.s)
	return "", p.fail("unterminated string")
}

// tuple parses "()", "(n,)" or "(n, m, ...)" with an optional trailing comma.
func (p *headerParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, p.fail("shape is not a tuple")
	}
	shape := []int{}
	comma := false
	for {
		p.ws()
		if p.eat(')') {
			break
		}
		if len(shape) > 0 && !comma {
			return nil, p.fail("expected ',' in shape")
		}
		if len(shape) == maxDims {
			return nil, errorf(ErrUnsupported, "shape has more than %d dimensions", maxDims)
		}
		d, err := p.int()
		if err != nil {
			return nil, err
		}
		shape = append(shape, d)
		p.ws()
		comma = p.eat(',')
	}
	if len(shape) == 1 && !comma {
		return nil, p.fail("shape is not a tuple") // "(3)" is an int in Python
	}
	return shape, nil
}

// int parses a non-negative decimal integer without leading zeros.
func (p *headerParser) int() (int, error) {
	start := p.i
	for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
		p.i++
	}
	digits := string(p.s[start:p.i])
	if digits == "" {
		return 0, p.fail("expected a dimension")
	}
	if len(digits) > 1 && digits[0] == '0' {
		p.i = start
		return 0, p.fail("dimension with a leading zero")
	}
	if p.py2 && (p.peek() == 'L' || p.peek() == 'l') {
		p.i++
	}
	if isIdent(p.peek()) {
		return 0, p.fail("bad dimension")
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > math.MaxInt {
		return 0, errorf(ErrLimit, "dimension %s is too large", truncate(digits, 30))
	}
	return int(n), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// parseDescr maps a descr such as "<f4" to its DType and byte order.
func parseDescr(descr string) (DType, bool, error) {
	if len(descr) >= 2 && strings.ContainsRune("<>|=", rune(descr[0])) && descr[1] == 'O' {
		return "", false, errorf(ErrUnsupported, "%s", msgPickle)
	}
	if len(descr) == 3 {
		dt := DType(descr[1:])
		if size := dt.Size(); size > 0 {
			switch order := descr[0]; {
			case order == '<':
				return dt, false, nil
			case order == '>':
				return dt, true, nil
			case order == '|' && size == 1:
				return dt, false, nil
			}
		}
	}
	return "", false, errorf(ErrUnsupported, "unsupported dtype %q", truncate(descr, 40))
}

// descr returns the descr NumPy writes for a little-endian array of d.
func (d DType) descr() string {
	if d.Size() == 1 {
		return "|" + string(d)
	}
	return "<" + string(d)
}

// Layout of the header, as numpy.lib.format writes it.
const (
	arrayAlign          = 64 // the data start at a multiple of this
	growthAxisMaxDigits = 21 // spare room after the dict for growing shape[0]
)

// formatHeader returns the magic, version, header length and dictionary
// header for a C-order little-endian array, byte for byte as NumPy writes it.
// shape has at most maxDims dimensions.
func formatHeader(d DType, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(d.descr())
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, n := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(n))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	if len(shape) > 0 {
		sb.WriteString(strings.Repeat(" ", max(0, growthAxisMaxDigits-len(strconv.Itoa(shape[0])))))
	}
	dict := sb.String()

	// Version 1.0 (a 2-byte header length) always suffices: with at most
	// maxDims dimensions of at most 19 digits the header stays far below
	// 64 KiB, so versions 2.0 and 3.0 are never needed.
	hlen := len(dict) + 1 // the closing newline
	pad := arrayAlign - (len(magic)+4+hlen)%arrayAlign
	out := make([]byte, 0, len(magic)+4+hlen+pad)
	out = append(out, magic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(hlen+pad))
	out = append(out, dict...)
	for range pad {
		out = append(out, ' ')
	}
	return append(out, '\n')
}
