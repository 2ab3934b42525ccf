#!/usr/bin/env bash
# image.sh [IMAGE]: build the advcheck container image without a Docker
# daemon and smoke-test it (`make image`). IMAGE defaults to
# localhost/advcheck:latest.
#
# IMAGE_FROM chooses what is built:
#   dockerfile  the Dockerfile (OpenBLAS + libjpeg-turbo on Debian), with
#               buildah; needs its base images from docker.io
#   static      deploy/image/Containerfile: the static pure-Go advcheck, built
#               here with Go (CGO_ENABLED=0), on an empty base
#   auto        (default) the Dockerfile when its base images can be pulled,
#               else the static image, saying why
# The smoke test runs the image with podman as the manifests in deploy/k8s do
# (read-only root, no capabilities, no privilege escalation, no network) and
# checks that it runs as UID 65532 and that `advcheck version` works.
#
# Needs podman and buildah (Debian packages; installed with apt-get, with
# runc, when run as root). Where the default OCI runtime cannot start
# containers (crun on a hybrid cgroup hierarchy; a host without
# CAP_SYS_RESOURCE refusing the default rlimits), the runs use runc with
# lowered rlimits, and say so.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-localhost/advcheck:latest}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}

need=()
command -v podman >/dev/null || need+=(podman)
command -v buildah >/dev/null || need+=(buildah)
command -v runc >/dev/null || need+=(runc)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "image: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "image: missing ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

from=${IMAGE_FROM:-auto}
case $from in
auto)
  from=dockerfile
  while read -r base; do
    if ! out=$(podman pull --quiet "$base" 2>&1 </dev/null); then
      echo "image: cannot pull $base, so the Dockerfile cannot be built here: $out" >&2
      echo "image: building deploy/image/Containerfile (static pure-Go binary) instead" >&2
      from=static
      break
    fi
  done < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' Dockerfile)
  ;;
dockerfile | static) ;;
*)
  echo "image: IMAGE_FROM=$from: want dockerfile, static or auto" >&2
  exit 2
  ;;
esac

if [ "$from" = dockerfile ]; then
  echo "image: building the Dockerfile (advcheck $version)" >&2
  buildah bud --quiet --layers --build-arg "VERSION=$version" -f Dockerfile -t "$image" . >/dev/null
else
  echo "image: building the static advcheck $version" >&2
  CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X github.com/advcheck/advcheck/internal/buildinfo.Version=$version" \
    -o "$ctx/advcheck" ./cmd/advcheck
  cp deploy/image/Containerfile deploy/image/passwd deploy/image/group "$ctx/"
  buildah bud --quiet --timestamp 0 -f "$ctx/Containerfile" -t "$image" "$ctx" >/dev/null
fi
echo "image: built $image from the $from ($(podman image inspect --format '{{.Id}}' "$image" | cut -c1-12))" >&2

fail() {
  echo "image: FAIL: $*" >&2
  exit 1
}

# 1. The configuration: non-root user, the entry point, a working directory.
config=$(podman image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}} {{.Config.WorkingDir}}' "$image")
[ "$config" = '65532:65532 ["/usr/local/bin/advcheck"] /out' ] ||
  fail "image config is \"$config\", want user 65532:65532, entrypoint /usr/local/bin/advcheck, workdir /out"

# How containers start here: the defaults, or runc with rlimits no higher
# than this host allows.
runtime=()
secure=(--rm --network none --read-only --cap-drop ALL --security-opt no-new-privileges)
if ! out=$(podman run "${secure[@]}" "$image" version 2>&1); then
  echo "image: podman's default runtime cannot start a container here: $out" >&2
  echo "image: retrying with runc and rlimits nofile=4096, nproc=4096" >&2
  runtime=(--runtime runc)
  secure+=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
  out=$(podman "${runtime[@]}" run "${secure[@]}" "$image" version 2>&1) || fail "advcheck version: $out"
fi
run() { podman "${runtime[@]}" run "${secure[@]}" "$@"; }

# 2. advcheck version works inside, and is this build.
[ "$(printf '%s\n' "$out" | head -n 1)" = "advcheck $version" ] || fail "advcheck version printed: $out"
echo "image: advcheck version: ok ($(printf '%s\n' "$out" | head -n 1))" >&2

# 3. A sweep with a read-only root writes its report to a mounted volume,
# as UID 65532 (the image's default user: no --user given).
mkdir -m 0777 "$ctx/out"
run -v "$ctx/out:/out" "$image" sweep --limit 8 --attack fgsm --eps 0,0.1 --json /out/report.json --progress never -q ||
  fail "sweep with a read-only root and /out mounted: exit $?"
owner=$(stat -c %u:%g "$ctx/out/report.json")
[ "$owner" = 65532:65532 ] || fail "the report is owned by $owner, want 65532:65532"
grep -q '"sha256_decoded"' "$ctx/out/report.json" || fail "the report has no dataset hash"
echo "image: sweep as 65532:65532 with a read-only root: ok" >&2

# 4. The root is read-only: writing outside a volume fails.
if out=$(run "$image" sweep --limit 8 --attack fgsm --eps 0 --json /report.json --progress never -q 2>&1); then
  fail "writing /report.json succeeded: the root is not read-only"
fi
case $out in
*"read-only file system"*) echo "image: writing to the root is refused: ok" >&2 ;;
*) fail "writing /report.json failed, but not for a read-only root: $out" ;;
esac
echo "image: $image ($from) passed the smoke test" >&2
