package datasets

import "testing"

// pixels reads every sample of d.
func pixels(t testing.TB, d *Dataset) []float32 {
	t.Helper()
	x, err := d.Samples(0, d.Len())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// sampleOf reads sample i of d.
func sampleOf(t testing.TB, d *Dataset, i int) []float32 {
	t.Helper()
	x, err := d.Samples(i, i+1)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// hashOf returns d's decoded-data hash.
func hashOf(t testing.TB, d *Dataset) string {
	t.Helper()
	h, err := d.SHA256()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
