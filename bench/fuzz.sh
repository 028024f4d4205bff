#!/usr/bin/env bash
# Runs every native fuzz target of both modules (the root module and bench/)
# for a given time each, one after the other, for long runs outside CI.
# Targets are found afresh each run, so new ones are picked up.
#
#   bench/fuzz.sh [TIME]      TIME as for go test -fuzztime (default 60s)
#   bench/fuzz.sh 10m 'Robots|Sitemap'   only targets matching the regexp
#
# Exits non-zero if any target fails; the failing inputs are left in the
# package's testdata/fuzz for `go test` to replay.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
match=${2:-.}
failed=()
for mod in . bench; do
	# Each line: package directory and target name.
	while read -r file name; do
		dir=$(dirname "$file"); dir=${dir#./}
		[[ $name =~ $match ]] || continue
		echo "== $mod/$dir $name ($fuzztime)"
		if ! (cd "$mod" && go test "./$dir" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime"); then
			failed+=("$mod/$dir $name")
		fi
	done < <(cd "$mod" && grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . |
		grep -v '^./bench/' | sed 's/:func / /' | sort)
done
if ((${#failed[@]})); then
	printf 'failed: %s\n' "${failed[@]}"
	exit 1
fi
echo "all fuzz targets clean for $fuzztime each"
