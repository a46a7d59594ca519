#!/usr/bin/env bash
# Fail when the chart changed since the merge base with BASE but its version
# was not bumped, as chart-testing's `ct lint --check-version-increment` does.
# Run in pull requests: a released version's archive must never change.
#
#   bash ci/check-version-bump.sh [BASE]     (default: origin/main)
#
# Every file under the chart counts, README and values comments included:
# they are all in the published archive.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=charts/primus
base=${1:-origin/main}
die() { echo "check-version-bump: $*" >&2; exit 1; }

merge_base=$(git merge-base "$base" HEAD) || die "no merge base between $base and HEAD (fetch with fetch-depth: 0)"
changed=$(git diff --find-renames --name-only "$merge_base" -- "$chart")
if [ -z "$changed" ]; then
  echo "$chart unchanged since $base ($merge_base): no version bump needed"
  exit 0
fi

version_of() { sed -n 's/^version: *//p' | sed 's/[[:space:]]*#.*//' | tr -d "'\" "; }
new=$(version_of <"$chart/Chart.yaml")
if ! old=$(git show "$merge_base:$chart/Chart.yaml" 2>/dev/null | version_of) || [ -z "$old" ]; then
  echo "$chart is new since $base: version $new"
  exit 0
fi

# semver_gt A B: A > B by semver precedence (a pre-release sorts before its
# release; pre-release identifiers are compared as sort -V does, close
# enough for rc.1 < rc.2).
semver_gt() {
  local a=${1%%+*} b=${2%%+*}
  local ac=${a%%-*} bc=${b%%-*} ap="" bp=""
  [ "$ac" = "$a" ] || ap=${a#*-}
  [ "$bc" = "$b" ] || bp=${b#*-}
  local IFS=.
  read -r -a an <<<"$ac"
  read -r -a bn <<<"$bc"
  for i in 0 1 2; do
    if ((10#${an[i]:-0} != 10#${bn[i]:-0})); then
      ((10#${an[i]:-0} > 10#${bn[i]:-0}))
      return
    fi
  done
  [ "$ap" != "$bp" ] || return 1
  [ -n "$ap" ] || return 0
  [ -n "$bp" ] || return 1
  [ "$(printf '%s\n%s\n' "$ap" "$bp" | sort -V | tail -n1)" = "$ap" ]
}

if semver_gt "$new" "$old"; then
  echo "$chart changed since $base and its version was bumped: $old -> $new"
  exit 0
fi
echo "$chart changed since $base ($merge_base) but its version is $new (was $old); bump version (and appVersion) in $chart/Chart.yaml:" >&2
echo "$changed" | sed 's/^/  /' >&2
exit 1
