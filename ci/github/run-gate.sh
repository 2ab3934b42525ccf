#!/usr/bin/env bash
# run-gate.sh: the step of the advcheck GitHub Action (action.yml at the
# repository root). It installs advcheck, runs `advcheck gate`, appends the
# gate's Markdown summary to $GITHUB_STEP_SUMMARY, writes the outputs
# `passed` and `report` to $GITHUB_OUTPUT, and exits with gate's exit status
# (0 passed, 1 a requirement failed, 2 bad policy or input, 3 bad model, data
# or report; see docs/gate.md), or 4 when advcheck could not be installed.
#
# The action's inputs arrive as ADVCHECK_POLICY, ADVCHECK_MODEL,
# ADVCHECK_REPORT, ADVCHECK_BASELINE, ADVCHECK_JUNIT and ADVCHECK_VERSION.
# ADVCHECK_RELEASE_URL, when set in the job's environment, replaces the place
# release binaries are downloaded from (a mirror with the same layout:
# URL/vX.Y.Z/advcheck-OS-ARCH and URL/vX.Y.Z/SHA256SUMS).
#
# It needs only what a GitHub-hosted runner has: bash, curl and sha256sum (or
# shasum) for a release, Go for a build from source.
set -euo pipefail

# Data of a workflow command is escaped as the runner expects (%, CR, LF).
escape() {
  local s=${1//%/%25}
  s=${s//$'\r'/%0D}
  printf '%s' "${s//$'\n'/%0A}"
}

outputs_written=false
set_outputs() { # passed report
  case $2 in *$'\n'* | *$'\r'*) echo "::error title=advcheck::report path holds a line break" >&2; exit 2 ;; esac
  printf 'passed=%s\nreport=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  outputs_written=true
}

fail() { # exit-status message
  echo "::error title=advcheck::$(escape "$2")" >&2
  if [ -n "${GITHUB_OUTPUT:-}" ] && [ "$outputs_written" = false ]; then
    set_outputs false ""
  fi
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '### advcheck gate\n\nThe gate did not run: %s (exit %d).\n' "$2" "$1" >>"$GITHUB_STEP_SUMMARY"
  fi
  exit "$1"
}

for v in GITHUB_ACTION_PATH GITHUB_OUTPUT GITHUB_STEP_SUMMARY RUNNER_TEMP; do
  [ -n "${!v:-}" ] || fail 2 "$v is not set: run-gate.sh runs as the step of the advcheck action"
done
[ -n "${ADVCHECK_POLICY:-}" ] || fail 2 "the policy input is required"
[ "${RUNNER_OS:-}" != Windows ] || fail 4 "the advcheck action runs on Linux and macOS runners"

work="$RUNNER_TEMP/advcheck"
mkdir -p "$work/bin"
bin="$work/bin/advcheck"

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# A release vX.Y.Z publishes advcheck-OS-ARCH (a static, pure-Go build, as
# `make dist` writes it) for linux and darwin on amd64 and arm64, with
# SHA256SUMS in sha256sum's format. The binary is used only if its SHA-256 is
# the one SHA256SUMS lists for it.
install_release() {
  local version=$1 os arch asset base want got
  [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] ||
    fail 2 "version: \"$version\" is not a release tag vX.Y.Z (leave it empty to build from the action's source)"
  case ${RUNNER_OS:-$(uname -s)} in
  Linux) os=linux ;;
  macOS | Darwin) os=darwin ;;
  *) fail 4 "no advcheck release binary for ${RUNNER_OS:-$(uname -s)}; run on Linux or macOS" ;;
  esac
  case ${RUNNER_ARCH:-$(uname -m)} in
  X64 | x86_64 | amd64) arch=amd64 ;;
  ARM64 | aarch64 | arm64) arch=arm64 ;;
  *) fail 4 "no advcheck release binary for ${RUNNER_ARCH:-$(uname -m)}" ;;
  esac
  asset="advcheck-$os-$arch"
  base="${ADVCHECK_RELEASE_URL:-https://github.com/advcheck/advcheck/releases/download}/$version"
  curl -fsSL --retry 3 -o "$work/SHA256SUMS" "$base/SHA256SUMS" || fail 4 "cannot download $base/SHA256SUMS"
  curl -fsSL --retry 3 -o "$work/$asset" "$base/$asset" || fail 4 "cannot download $base/$asset"
  want=$(awk -v a="$asset" '$2 == a || $2 == "*" a { print $1 }' "$work/SHA256SUMS")
  [ -n "$want" ] || fail 4 "SHA256SUMS of $version lists no $asset"
  got=$(sha256 "$work/$asset")
  [ "$got" = "$want" ] || fail 4 "$asset: SHA-256 $got is not the $want that SHA256SUMS of $version lists"
  install -m 0755 "$work/$asset" "$bin"
  rm -f "$work/$asset"
}

# Without a version, advcheck is built from the action's own checkout (the
# ref given in `uses:`) without cgo, so the runner needs no C libraries.
build_source() {
  local version
  command -v go >/dev/null ||
    fail 4 "building advcheck from source needs Go on the runner (add actions/setup-go), or set version: to a release tag"
  version=$(git -C "$GITHUB_ACTION_PATH" describe --tags --always --dirty 2>/dev/null || echo source)
  (cd "$GITHUB_ACTION_PATH" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-X github.com/advcheck/advcheck/internal/buildinfo.Version=$version" \
    -o "$bin" ./cmd/advcheck) || fail 4 "building advcheck in $GITHUB_ACTION_PATH failed"
}

if [ -n "${ADVCHECK_VERSION:-}" ]; then
  install_release "$ADVCHECK_VERSION"
else
  build_source
fi
"$bin" version

report="$work/report.json"
summary="$work/summary.md"
rm -f "$report" "$summary"
args=(gate --policy "$ADVCHECK_POLICY" --json "$report" --md "$summary" --progress never)
[ -z "${ADVCHECK_MODEL:-}" ] || args+=(--model "$ADVCHECK_MODEL")
[ -z "${ADVCHECK_REPORT:-}" ] || args+=(--report "$ADVCHECK_REPORT")
[ -z "${ADVCHECK_BASELINE:-}" ] || args+=(--baseline "$ADVCHECK_BASELINE")
[ -z "${ADVCHECK_JUNIT:-}" ] || args+=(--junit "$ADVCHECK_JUNIT")

set +e
"$bin" "${args[@]}"
code=$?
set -e

if [ -s "$summary" ]; then
  cat "$summary" >>"$GITHUB_STEP_SUMMARY"
else
  printf '### advcheck gate\n\nThe gate stopped before it wrote a report (exit %d): see the step log.\n' "$code" >>"$GITHUB_STEP_SUMMARY"
fi
passed=false
[ "$code" -ne 0 ] || passed=true
[ -s "$report" ] || report=""
set_outputs "$passed" "$report"
if [ "$code" -ne 0 ]; then
  echo "::error title=advcheck gate::$(escape "advcheck gate exited with status $code; the job summary has the checks")" >&2
fi
exit "$code"
