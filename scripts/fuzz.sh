#!/bin/sh
# Run each fuzz target (pkg:FuzzName arguments) for FUZZTIME; exit 1 on the first failure.
#
# Go 1.26's fuzz coordinator can end a duration-bound run with a bare "context deadline exceeded"
# and no failing input (golang/go#75804, fixed in Go 1.27): the deadline that ends the run leaks
# past the check meant to swallow it, most often on a busy machine. Such a run is repeated, up to
# twice. A real failure writes its input under PKG/testdata/fuzz/NAME/ and is never repeated.
set -u
GO=${GO:-go}
TAGS=${TAGS:-}
FUZZTIME=${FUZZTIME:-60s}
log=$(mktemp)
rc=$(mktemp)
trap 'rm -f "$log" "$rc"' EXIT

for t in "$@"; do
	pkg=${t%%:*}
	fn=${t##*:}
	corpus=$pkg/testdata/fuzz/$fn
	tries=0
	while :; do
		echo "== $fn ($pkg)"
		before=$(find "$corpus" -type f 2>/dev/null | wc -l)
		{
			"$GO" test -tags "$TAGS" -run '^$' -fuzz "^$fn\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "./$pkg"
			echo $? >"$rc"
		} 2>&1 | tee "$log"
		[ "$(cat "$rc")" -eq 0 ] && break
		after=$(find "$corpus" -type f 2>/dev/null | wc -l)
		tries=$((tries + 1))
		if [ "$after" -eq "$before" ] && [ "$tries" -le 2 ] &&
			grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
			echo "== $fn: the run ended on Go's fuzz-deadline race (golang/go#75804) with no failing input; running it again"
			continue
		fi
		exit 1
	done
done
