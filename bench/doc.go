// Package bench holds the project's benchmarks: they report numbers (go test
// -bench, b.ReportMetric) and never fail because a machine is slow. Run them
// with `bash bench/run.sh`, which writes bench/RESULTS.md, the file the
// README's Performance section quotes.
package bench
