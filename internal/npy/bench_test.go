package npy

import (
	"bytes"
	"io"
	"testing"
)

func benchData(b *testing.B, d DType) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, sample(d, []int{1 << 20})); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkReadFloat32(b *testing.B) {
	data := benchData(b, Float32)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadFloat32Stream(b *testing.B) {
	data := benchData(b, Float32)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(stream{bytes.NewReader(data)}, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteFloat32(b *testing.B) {
	a := sample(Float32, []int{1 << 20})
	b.SetBytes(int64(4 << 20))
	for b.Loop() {
		if err := Write(io.Discard, a); err != nil {
			b.Fatal(err)
		}
	}
}
