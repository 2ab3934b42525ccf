// Package corruption implements the common corruptions of Hendrycks &
// Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
// and Perturbations" (ICLR 2019): noise, blur, weather and digital shifts at
// five severities, with the published parameters of CIFAR-10-C (32 px) and
// ImageNet-C (224 px).
//
// A corruption is applied to one image (C×H×W float32, C = 1 or 3, in the
// model's bounds) and is deterministic per sample: the run's seed, the
// corruption's name and the sample's global index fix every random draw,
// whatever the batch, thread or shard.
//
//	out, err := corruption.Apply("gaussian_noise", 3, img, 1, 28, 28,
//		corruption.Config{Seed: 1}, index)
//
// ScaleOf says which parameter set an image size uses; Names lists the
// corruptions (all 15 of the benchmark; frost with procedural textures in
// place of the reference's photographs).
// docs/corruptions.md gives each corruption's formula, parameters, and how
// it differs from the reference code.
package corruption
