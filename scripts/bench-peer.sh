#!/usr/bin/env bash
# bench-peer.sh — advcheck against PyTorch (Debian's python3-torch) on the same
# ONNX weights, in the same run, on the same cores: prints images per second of
# each and the ratio advcheck/PyTorch. Needs /usr/bin/python3 with torch.
#
#   ./scripts/bench-peer.sh              # zoo CNN, batch 128, forward and forward+input gradient;
#                                        # then ResNet-50, DenseNet-121 (224 px, batch 16), a
#                                        # CIFAR ResNet-18 (32 px, batch 128), MobileNetV2 and
#                                        # EfficientNet-B0 (224 px, batch 16), ViT-B/16 and
#                                        # ConvNeXt-T (224 px, batch 8): forward + input
#                                        # gradient, img/s and peak RSS of each side
#   PEER_MODELS="mobilenet_v2:8" ./scripts/bench-peer.sh   # only these NAME:BATCH rows
#   THREADS=1 ./scripts/bench-peer.sh
#   PEER=0 ./scripts/bench-peer.sh       # the zoo CNN only
#   SWEEP=0 ./scripts/bench-peer.sh      # without the FGSM sweep
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${THREADS:-$(nproc)}
model=models/zoo/mnist-cnn.onnx
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || { echo "bench-peer: $py cannot import torch (Debian: apt-get install python3-torch)" >&2; exit 1; }

gobench() { # gobench NAME → img/s
  go test -tags "${TAGS:-openblas libjpeg}" -run '^$' -bench "^Benchmark$1\$" -benchtime "${BENCHTIME:-5s}" -count 1 -cpu "$threads" ./models/ \
    | awk '/img\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "img/s") print $i }'
}
torchbench() { # torchbench MODE → img/s
  "$py" scripts/peer_bench.py --model "$model" --mode "$1" --batch 128 --threads "$threads" --seconds "${SECONDS_PER_RUN:-5}" \
    | "$py" -c 'import json,sys; print(json.load(sys.stdin)["img_per_s"])'
}

printf "%-28s %12s %12s %8s\n" "work (batch 128, $threads threads)" "advcheck" "pytorch" "ratio"
for pair in "forward:Logits" "forward + input gradient:LossGradient"; do
  label=${pair%%:*}; name=${pair##*:}
  mode=forward; [ "$name" = LossGradient ] && mode=grad
  a=$(gobench "$name"); t=$(torchbench "$mode")
  printf "%-28s %12.0f %12.0f %8.2f\n" "$label" "$a" "$t" "$(awk -v a="$a" -v t="$t" 'BEGIN { print a / t }')"
done
echo "torch $("$py" -c 'import torch; print(torch.__version__)'), $(go run -tags "${TAGS:-openblas libjpeg}" ./cmd/advcheck version | grep '^blas')"

# The FGSM sweep of the report engine: 10,000 MNIST test images, 7 eps from 0
# to 0.3. advcheck computes one gradient per batch for every eps; ART and
# torchattacks (and the peer script) compute one gradient per eps.
if [ -f data/mnist/t10k-images-idx3-ubyte ] && [ "${SWEEP:-1}" = 1 ]; then
  go build -tags "${TAGS:-openblas libjpeg}" -o bin/advcheck ./cmd/advcheck
  start=$(date +%s.%N)
  bin/advcheck sweep --threads "$threads" --data mnist:data/mnist --attack fgsm --eps 0:0.3:0.05 \
    --checks=false --examples 0 --progress never --quiet --json /tmp/advcheck-bench-sweep.json
  end=$(date +%s.%N)
  a=$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')
  t=$("$py" scripts/peer_bench.py --model "$model" --mode fgsm-sweep --data data/mnist --eps 0,0.05,0.1,0.15,0.2,0.25,0.3 \
        --batch 128 --threads "$threads" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  printf "%-28s %11.1fs %11.1fs %8.2f  (speedup = pytorch/advcheck)\n" "FGSM sweep, 10k × 7 eps" "$a" "$t" "$(awk -v a="$a" -v t="$t" 'BEGIN { print t / a }')"
elif [ "${SWEEP:-1}" = 1 ]; then
  echo "FGSM sweep skipped: run 'make data' for the full MNIST test set"
fi

# Larger models (scripts/peer_models.py: torchvision architectures, random weights, made into
# data/peer on first use): forward + input gradient of the cross-entropy, one process per side
# so that /usr/bin/time -v gives each its own peak RSS (the process as a whole: runtime,
# libraries, the model and every buffer).
[ "${PEER:-1}" = 1 ] || exit 0
peerdir=${PEERDIR:-data/peer}
specs=${PEER_MODELS:-resnet50:16 densenet121:16 cifar_resnet18:128 mobilenet_v2:16 efficientnet_b0:16 vit_b_16:8 convnext_tiny:8}
for spec in $specs; do
  m=${spec%%:*}
  if [ ! -f "$peerdir/$m.onnx" ] || [ ! -f "$peerdir/$m.pt" ]; then
    "$py" scripts/peer_models.py --out "$peerdir" "$m" >/dev/null
  fi
done
go test -c -tags "${TAGS:-openblas libjpeg}" -o bin/models.test ./models/
rss() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$1"; } # MiB
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo
echo "load: $(uptime | sed 's/.*load average: //') (1, 5, 15 min) on $(nproc) CPUs"
printf "%-34s %10s %10s %7s %12s %12s %7s\n" "forward + input gradient ($threads thr.)" "advcheck" "pytorch" "ratio" "advcheck RSS" "pytorch RSS" "ratio"
for spec in $specs; do
  m=${spec%%:*}; b=${spec##*:}
  (cd models && ADVCHECK_BENCH_MODEL="../$peerdir/$m.onnx" ADVCHECK_BENCH_BATCH=$b \
    /usr/bin/time -v -o "$tmp/a.time" ../bin/models.test -test.run '^$' -test.bench '^BenchmarkPeerModel$' \
    -test.benchtime "${PEER_BENCHTIME:-3x}" -test.cpu "$threads") >"$tmp/a.out"
  a=$(awk '/img\/s/ { for (i = 1; i <= NF; i++) if ($(i+1) == "img/s") print $i }' "$tmp/a.out")
  /usr/bin/time -v -o "$tmp/t.time" "$py" scripts/peer_bench.py --model "$peerdir/$m.onnx" --mode grad --batch "$b" \
    --threads "$threads" --seconds "${PEER_SECONDS:-20}" >"$tmp/t.out"
  t=$("$py" -c 'import json,sys; print(json.load(sys.stdin)["img_per_s"])' <"$tmp/t.out")
  ar=$(rss "$tmp/a.time"); tr=$(rss "$tmp/t.time")
  printf "%-34s %10.1f %10.1f %7.2f %9s MiB %8s MiB %7.2f\n" "$m, batch $b" "$a" "$t" \
    "$(awk -v a="$a" -v t="$t" 'BEGIN { print a / t }')" "$ar" "$tr" "$(awk -v a="$ar" -v t="$tr" 'BEGIN { print a / t }')"
done
echo "(img/s: higher is better, ratio advcheck/pytorch; RSS: lower is better, ratio advcheck/pytorch)"
