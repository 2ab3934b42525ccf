#!/bin/sh
# Randomized smoothing's cost per sample at n = 10,000 (n0 = 100, σ = 0.25,
# batches of 128) on the zoo CNN: advcheck (go test -bench) against PyTorch
# doing the same forwards on the same ONNX weights (scripts/bench_smoothing.py),
# both on 2 threads, in one run. Usage: scripts/bench-smoothing.sh [SAMPLES]
# (default 3). Needs MNIST in data/mnist (make data) for the PyTorch side.
set -eu
cd "$(dirname "$0")/.."
n=${1:-3}
go_s=$(go test -tags 'openblas libjpeg' -run '^$' -bench BenchmarkSmoothingCertify -benchtime "${n}x" ./certify/ |
	awk '/BenchmarkSmoothingCertify/ { for (i = 1; i <= NF; i++) if ($(i+1) == "s/sample") print $i }')
py_s=$(/usr/bin/python3 scripts/bench_smoothing.py --samples "$n" --threads 2 |
	/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["s_per_sample"])')
echo "advcheck: $go_s s/sample; pytorch: $py_s s/sample; ratio advcheck/pytorch: $(echo "$go_s $py_s" | awk '{ printf "%.2f", $1 / $2 }')"
