#!/usr/bin/env bash
# bench-data.sh — the data readers' time and peak memory, measured with
# /usr/bin/time on generated data in a temporary folder:
#
#   - a folder of 50,000 images (10 classes × 5,000 hard links to one 28×28
#     PNG) swept with --limit 10: listing it must not decode it;
#   - .npy data sets of 2,000 and 20,000 MNIST-sized samples swept whole:
#     the peak RSS must not grow with N.
#
#   ./scripts/bench-data.sh                      # bin/advcheck (make build)
#   ADVCHECK=/path/to/advcheck ./scripts/bench-data.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${ADVCHECK:-bin/advcheck}
[ -x "$bin" ] || { echo "bench-data: $bin is missing (make build)" >&2; exit 1; }
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$py" - "$tmp" <<'PY'
import os, sys
import numpy as np
from PIL import Image
tmp = sys.argv[1]
png = os.path.join(tmp, "one.png")
Image.fromarray((np.arange(28 * 28) % 251).astype(np.uint8).reshape(28, 28), "L").save(png)
for c in range(10):
    d = os.path.join(tmp, "folder", "class%d" % c)
    os.makedirs(d)
    for i in range(5000):
        os.link(png, os.path.join(d, "%05d.png" % i))
rng = np.random.default_rng(0)
for n in (2000, 20000):
    np.save(os.path.join(tmp, "x%d.npy" % n), rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8))
    np.save(os.path.join(tmp, "y%d.npy" % n), rng.integers(0, 10, (n,), dtype=np.int64))
PY

measure() { # measure LABEL ARGS... → wall seconds and peak RSS
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" "$@" -q --json "$tmp/r.json" >/dev/null
  read -r wall kb <"$tmp/time"
  printf "%-44s %8.2f s %8.1f MiB\n" "$label" "$wall" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
}

printf "%-44s %10s %12s\n" "run ($("$bin" version | head -1))" "wall" "peak RSS"
measure "folder of 50,000 images, --limit 10" sweep --model zoo:mnist-cnn --data "folder:$tmp/folder" --limit 10 --attack fgsm --eps 0,0.1
for n in 2000 20000; do
  measure ".npy, $n samples, FGSM (zoo:mnist-mlp)" sweep --model zoo:mnist-mlp --data "npy:$tmp/x$n.npy,$tmp/y$n.npy" --attack fgsm --eps 0.1 --batch 128
done
