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
  rate() { awk -v p="BenchmarkRenderMatrix/$1-" 'index($1, p) == 1 {for (i=1;i<=NF;i++) if ($(i+1)=="cases/s") print $i}' "$raw"; }
  for work in render render+check; do
    cli=$(rate "helm-cli/$work")
    per=$(rate "sdk-chart-per-case/$work")
    once=$(rate "sdk-chart-once/$work")
    if [ -n "$cli" ] && [ -n "$per" ] && [ -n "$once" ]; then
      echo
      echo "Render matrix (100 value sets), $work: helm CLI one process per case $cli cases/s; SDK loading the chart per case $per cases/s ($(awk -v a="$per" -v b="$cli" 'BEGIN{printf "%.1fx", a/b}')); SDK loading it once $once cases/s ($(awk -v a="$once" -v b="$cli" 'BEGIN{printf "%.1fx", a/b}'))."
    fi
  done
} > "$out"
echo "wrote $out"
