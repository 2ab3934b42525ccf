package datasets

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is part I of N of a data set: the contiguous block of global
// indices [I·Len/N, (I+1)·Len/N). The shards 0/N … N−1/N cover every sample
// exactly once.
type Shard struct{ I, N int }

// ParseShard reads "I/N".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w: shard %q: want I/N with 0 ≤ I < N", ErrSpec, s)
	}
	return Shard{i, n}, nil
}

// Range returns the global indices [lo, hi) of the shard of a data set of
// size n.
func (s Shard) Range(n int) (lo, hi int) {
	return s.I * n / s.N, (s.I + 1) * n / s.N
}

// Batches splits [lo, hi) into consecutive batches of at most size indices;
// only the last may be shorter.
func Batches(lo, hi, size int) [][2]int {
	var out [][2]int
	for b := lo; b < hi; b += size {
		out = append(out, [2]int{b, min(b+size, hi)})
	}
	return out
}
