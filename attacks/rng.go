package attacks

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// Seeds derives the random streams of an attack run.
type Seeds struct {
	Seed uint64 // the run's --seed
	ID   string // the attack_id
}

// Stream returns the random stream of one sample (by global index) at one
// eps and restart: independent of batch-mates, batch size, threads and shards.
func (s Seeds) Stream(eps float64, index, restart int) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], s.Seed)
	h.Write(b[:])
	h.Write([]byte(s.ID))
	h.Write([]byte{0})
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(eps))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(index))
	h.Write(b[:])
	binary.LittleEndian.PutUint64(b[:], uint64(restart))
	h.Write(b[:])
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}
