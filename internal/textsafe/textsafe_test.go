package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain name/with.dots_and-dashes", "plain name/with.dots_and-dashes"},
		{"ünïcödé × ∞ ✅", "ünïcödé × ∞ ✅"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"bell\x07", `bell\x07`},
		{"over\rwrite", `over\x0dwrite`},
		{"two\nlines\ttab", `two\x0alines\x09tab`},
		{"del\x7f", `del\x7f`},
		{"csi\u009b31m", `csi\u009b31m`},
		{"abc\u202edcba", `abc\u202edcba`},
		{"\u2066iso\u2069", `\u2066iso\u2069`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"\x1b]8;;http://x\x07link\x1b]8;;\x07", `\x1b]8;;http://x\x07link\x1b]8;;\x07`},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzLine checks that no output of Line holds a control, a bidi control
// or invalid UTF-8.
func FuzzLine(f *testing.F) {
	f.Add("\x1b[31m\u202e\r\x07\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Line(%q) = %q: not UTF-8", s, out)
		}
		for _, r := range out {
			if r < 0x20 || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Line(%q) = %q holds %U", s, out, r)
			}
		}
		if isSafe(s) && out != s {
			t.Fatalf("Line changed safe text %q", s)
		}
		if strings.ContainsRune(s, '\\') && !strings.Contains(out, `\`) {
			t.Fatalf("Line lost a backslash")
		}
	})
}
