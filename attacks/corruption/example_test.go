package corruption_test

import (
	"fmt"

	"github.com/advcheck/advcheck/attacks/corruption"
)

func ExampleApply() {
	// A 1×8×8 gray image in [0, 1]: left half 0.2, right half 0.6.
	img := make([]float32, 64)
	for i := range img {
		img[i] = 0.2
		if i%8 >= 4 {
			img[i] = 0.6
		}
	}
	// contrast at severity 2 of the CIFAR set halves the distance to the
	// mean, 0.4.
	out, err := corruption.Apply("contrast", 2, img, 1, 8, 8, corruption.Config{Seed: 1}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.2f %.2f\n", out[0], out[7])
	_, err = corruption.Apply("contrast", 6, img, 1, 8, 8, corruption.Config{}, 0)
	fmt.Println(err)
	// Output:
	// 0.30 0.50
	// corruption: severity must be 1..5, got 6
}

func ExampleScaleOf() {
	for _, s := range [][2]int{{28, 28}, {32, 32}, {224, 224}, {299, 299}} {
		sc, published, _ := corruption.ScaleOf(s[0], s[1])
		fmt.Println(s[0], sc, published)
	}
	// Output:
	// 28 cifar false
	// 32 cifar true
	// 224 imagenet true
	// 299 imagenet false
}
