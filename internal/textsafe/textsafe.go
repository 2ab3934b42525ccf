// Package textsafe makes untrusted strings — names and producer strings from
// a model file, class names from a data set, any field of a saved report —
// safe to print in text meant for people: a terminal, a Markdown comment,
// a JUnit page in a CI system.
//
// A string from a file could otherwise carry terminal escape sequences
// (colour, cursor movement, window titles, hyperlinks), a bell, a carriage
// return that overwrites what came before on the line, or Unicode bidi
// overrides that make text read differently from what it holds.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Line returns s with every character that could act on a terminal or
// reorder text replaced by a visible escape: C0 controls (newlines and tabs
// included, so the result is one line), DEL and C1 controls as \xNN or
// \u00NN, the Unicode bidi controls and line/paragraph separators as \uNNNN,
// and bytes that are not UTF-8 as \xNN. Other text is returned unchanged.
func Line(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// Lines is Line applied to each string, for table rows.
func Lines(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Line(s)
	}
	return out
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// unsafeRune reports the runes beyond ASCII that Line escapes.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls, e.g. U+009B, a one-character CSI
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // bidi marks
		return true
	case r >= 0x202a && r <= 0x202e: // bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
