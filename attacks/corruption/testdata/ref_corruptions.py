"""Goldens for attacks/corruption from the reference implementation.

Runs the corruption functions of hendrycks/robustness
(ImageNet-C/create_c/make_cifar_c.py and make_imagenet_c.py) on fixed images
and writes golden.json (the inputs go to cifar.png and imagenet.png): for each corruption, scale and severity, the
reference output (in [0, 1]) at fixed sample positions and its per-channel
means.

The reference's randomness is replaced by a counter-based stream that the Go
tests reproduce exactly (testSource in golden_test.go): np.random.normal,
uniform, randint, poisson and np.random.default_rng (used by skimage's
random_noise) all draw from it, in call order. Normals are Box-Muller from
two uniforms, Poisson by inversion, integers by floor(lo + u*(hi-lo)).

With --bench it instead prints the reference's CPU time per image (one
image, best of three) for each corruption at severities 3 and 5 and both
scales, as a peer for the Go benchmarks.

Usage (Debian's python3 with numpy, scipy, skimage, cv2, wand; wand needs
MAGICK_HOME pointing at a directory whose lib/ holds libMagickWand-6.Q16.so.6):
  /usr/bin/python3 ref_corruptions.py /path/to/robustness/ImageNet-C/create_c > golden.json
  /usr/bin/python3 ref_corruptions.py /path/to/robustness/ImageNet-C/create_c --bench
"""
import io
import json
import sys

import numpy as np
from PIL import Image

START = "# /////////////// Distortion Helpers ///////////////"
END = "# /////////////// End Distortions ///////////////"


def load(path):
    src = open(path).read()
    src = src[src.index(START):src.index(END)]
    ns = {"np": np, "Image": Image}
    exec(compile(src, path, "exec"), ns)
    return ns


MASK = (1 << 64) - 1


class Stream:
    """splitmix64 over a counter: draw k is mix(seed + (k+1)·golden)."""

    def __init__(self, seed):
        self.seed = seed
        self.k = 0

    def uniforms(self, n):
        k = np.arange(self.k + 1, self.k + 1 + n, dtype=np.uint64)
        self.k += n
        with np.errstate(over="ignore"):
            z = np.uint64(self.seed) + k * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53

    def normal(self, loc=0.0, scale=1.0, size=None):
        n = int(np.prod(size))
        u = self.uniforms(2 * n).reshape(n, 2)
        z = np.sqrt(-2 * np.log1p(-u[:, 0])) * np.cos(2 * np.pi * u[:, 1])
        return (loc + scale * z).reshape(size)

    def uniform(self, low=0.0, high=1.0, size=None):
        n = int(np.prod(size)) if size is not None else 1
        u = self.uniforms(n)
        out = low + (high - low) * u
        return out.reshape(size) if size is not None else float(out[0])

    def randint(self, low, high=None, size=None):
        if high is None:
            low, high = 0, low
        n = int(np.prod(size)) if size is not None else 1
        u = self.uniforms(n)
        out = np.floor(low + u * (high - low)).astype(np.int64)
        return out.reshape(size) if size is not None else int(out[0])

    def poisson(self, lam):
        lam = np.asarray(lam, dtype=np.float64)
        u = self.uniforms(lam.size).reshape(lam.shape)
        k = np.zeros(lam.shape)
        p = np.exp(-lam)
        f = p.copy()
        i = 0
        while True:
            more = u > f
            if not more.any():
                return k
            i += 1
            p = np.where(more, p * lam / i, p)
            f = np.where(more, f + p, f)
            k = np.where(more, k + 1, k)

    def random(self, size=None):
        return self.uniforms(int(np.prod(size))).reshape(size)


ORIGINAL = {k: getattr(np.random, k) for k in ("normal", "uniform", "randint", "poisson", "default_rng")}


def patch(stream):
    np.random.normal = stream.normal
    np.random.uniform = stream.uniform
    np.random.randint = stream.randint
    np.random.poisson = stream.poisson
    np.random.default_rng = lambda seed=None: stream


def positions(h, w, c, n, seed):
    rs = np.random.RandomState(seed)
    return [[int(rs.randint(c)), int(rs.randint(h)), int(rs.randint(w))] for _ in range(n)]


def images():
    """The fixed inputs: a CIFAR-10 test image and a 224 px crop of a photo-like test image."""
    here = sys.path[0]
    x = np.load(here + "/../../../testdata/cifar/cifar10_x.npy")[3]  # 3×32×32 uint8
    cifar = x.transpose(1, 2, 0)
    im = Image.open(here + "/../../../testdata/resize/imgs/blue/d_900x700.jpg").convert("RGB")
    im = im.resize((256, 199), Image.BILINEAR)
    a = np.asarray(im)
    big = np.zeros((224, 224, 3), np.uint8)
    big[:199, :224] = a[:, 16:240]
    big[199:] = a[199 - 25:199, 16:240][::-1]
    return cifar, big


NAMES = ["gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
         "motion_blur", "zoom_blur", "snow", "fog", "brightness", "contrast",
         "elastic_transform", "pixelate", "jpeg_compression"]


def bench(refs, inputs):
    import time
    for scale, ref in refs.items():
        img = Image.fromarray(inputs[scale])
        for name in NAMES + ["frost"]:
            for sev in (3, 5):
                if name == "frost":
                    # the reference reads its textures from the working directory
                    import os
                    os.chdir(sys.argv[1])
                best = float("inf")
                for rep in range(3):
                    # numpy's own generators: the reference as it runs
                    for k, f in ORIGINAL.items():
                        setattr(np.random, k, f)
                    np.random.seed(rep)
                    t0 = time.process_time()
                    np.asarray(ref[name](img, sev))  # PIL decodes lazily
                    best = min(best, time.process_time() - t0)
                print("%-18s %-8s s%d %10.3f ms" % (name, scale, sev, best * 1e3), flush=True)


def main():
    create_c = sys.argv[1]
    refs = {"cifar": load(create_c + "/make_cifar_c.py"), "imagenet": load(create_c + "/make_imagenet_c.py")}
    cifar, big = images()
    inputs = {"cifar": cifar, "imagenet": big}
    if sys.argv[2:] == ["--bench"]:
        bench(refs, inputs)
        return
    out = {"inputs": {}, "cases": []}
    for scale, img in inputs.items():
        h, w, c = img.shape
        Image.fromarray(img).save(sys.path[0] + "/" + scale + ".png")
        out["inputs"][scale] = {"file": scale + ".png", "h": h, "w": w, "c": c}
    npos = {"cifar": 96, "imagenet": 192}
    for scale, ref in refs.items():
        img = inputs[scale]
        h, w, c = img.shape
        pos = positions(h, w, c, npos[scale], 1 if scale == "cifar" else 2)
        out["inputs"][scale]["positions"] = pos
        for name in NAMES:
            for sev in range(1, 6):
                seed = 1000 * NAMES.index(name) + sev
                patch(Stream(seed))
                r = ref[name](Image.fromarray(img), sev)
                r = np.asarray(r, dtype=np.float64) / 255.0
                assert r.shape == (h, w, c), (name, r.shape)
                out["cases"].append({
                    "name": name, "scale": scale, "severity": sev, "stream_seed": seed,
                    "at": [round(float(r[y, x, ch]), 9) for ch, y, x in pos],
                    "mean": [round(float(r[..., ch].mean()), 9) for ch in range(c)],
                })
                print(scale, name, sev, file=sys.stderr)
    json.dump(out, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
