#!/usr/bin/env bash
# Runs the benchmarks and writes bench/RESULTS.md, which the README's
# Performance section quotes. Benchmarks report; they never fail on a slow
# machine. Usage: bash bench/run.sh [go test -bench regexp]
set -euo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-.}"
out=bench/RESULTS.md
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

go test ./bench -run '^$' -bench "$pattern" -benchtime 3x -count 1 -timeout 60m | tee "$raw"

{
  echo "# Benchmark results"
  echo
  echo "Produced by \`bash bench/run.sh\` on $(date -u +%Y-%m-%d)."
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB, $(go version | cut -d' ' -f3-4)."
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|cpu)' "$raw"
  echo '```'
  sdk=$(awk '/RenderMatrix\/sdk/ {for (i=1;i<=NF;i++) if ($(i+1)=="cases/s") print $i}' "$raw")
  cli=$(awk '/RenderMatrix\/helm-cli/ {for (i=1;i<=NF;i++) if ($(i+1)=="cases/s") print $i}' "$raw")
  if [ -n "$sdk" ] && [ -n "$cli" ]; then
    echo
    echo "Render matrix (100 value sets): in-process SDK render + check $sdk cases/s, helm CLI one process per case $cli cases/s, ratio $(awk -v a="$sdk" -v b="$cli" 'BEGIN{printf "%.1fx", a/b}')."
  fi
} > "$out"
echo "wrote $out"
