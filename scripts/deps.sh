#!/usr/bin/env bash
# deps.sh — make sure what the build and the tests need is installed:
# OpenBLAS (the fast matrix-multiply backend, via cgo), libjpeg-turbo (JPEG
# decoding bit-identical to PIL's, via cgo), Chromium (the HTML report test
# renders reports in it) and shellcheck (make lint). On Debian/Ubuntu as root
# it installs missing packages with apt-get; elsewhere it says what to install
# and fails.
set -euo pipefail

need=()
[ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || [ -e /usr/include/openblas/cblas.h ] || need+=(libopenblas-dev)
[ -e /usr/include/jpeglib.h ] || [ -e /usr/include/x86_64-linux-gnu/jpeglib.h ] || need+=(libjpeg62-turbo-dev)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
command -v gcc >/dev/null || need+=(gcc)
command -v shellcheck >/dev/null || need+=(shellcheck)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  exit 0
fi
echo "deps: missing ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
exit 1
