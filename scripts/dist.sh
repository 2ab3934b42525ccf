#!/usr/bin/env bash
# dist.sh OUTDIR [OS/ARCH...]: the binaries of a release, as the GitHub Action
# (action.yml, `version: vX.Y.Z`) downloads them: OUTDIR/advcheck-OS-ARCH,
# static pure-Go builds (no cgo: gonum's BLAS and Go's JPEG decoder), and
# OUTDIR/SHA256SUMS in sha256sum's format. Without OS/ARCH it builds
# linux/amd64, linux/arm64, darwin/amd64 and darwin/arm64. VERSION (default:
# git describe) is stamped into the binaries.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: dist.sh OUTDIR [OS/ARCH...]" >&2; exit 2; }
out=$1
shift
[ $# -gt 0 ] || set -- linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
mkdir -p "$out"
assets=()
for target in "$@"; do
  os=${target%/*}
  arch=${target#*/}
  asset="advcheck-$os-$arch"
  echo "dist: $asset ($version)" >&2
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/advcheck/advcheck/internal/buildinfo.Version=$version" \
    -o "$out/$asset" ./cmd/advcheck
  assets+=("$asset")
done
(cd "$out" && sha256sum "${assets[@]}" >SHA256SUMS)
