#!/usr/bin/env bash
# The project's test command, the one README.md gives and .ci/run runs.
# A fresh machine needs only Go: the embedded cluster's binaries and the helm
# CLI are built from pinned modules by step 4 (first run only).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "1/8 gofmt"
unformatted=$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "these files are not gofmt-ed:"; echo "$unformatted"; exit 1
fi

step "2/8 go vet"
go vet ./...

step "3/8 generated files are current"
go run ./values-schema/gen -check
go run ./tools/valuesdoc -check charts/primus/README.md -check README.md

step "4/8 embedded cluster binaries (the first run builds them: about 11 min on 2 cores)"
bin_dir=$(go run ./tools/hacheck binaries)
export PATH="$bin_dir:$PATH"
helm version --short

step "5/8 helm lint --strict"
helm lint --strict charts/primus
helm lint --strict charts/primus --set replicaCount=3 --set podAntiAffinity=hard
helm lint --strict charts/ha-lib
helm lint --strict examples/ha-chart --set replicaCount=3

step "6/8 hacheck: static HA invariants, then the README's main job on the embedded cluster"
go run ./tools/hacheck check charts/primus --set replicaCount=3
go run ./tools/hacheck check charts/primus --matrix tests/render/testdata/matrix.yaml
go run ./tools/hacheck verify charts/primus --set replicaCount=3
go run ./tools/hacheck check examples/ha-chart --set replicaCount=3

step "7/8 go test -race -short: the concurrent packages (leader election, Project controller, pod runner, pod network, replicas, failover, audit oracle, the API server, platform, log buffer)"
go test -race -short -count=1 \
  ./internal/platform/leader ./internal/platform/controller ./internal/hacheck/podrunner ./internal/hacheck/podnet ./internal/hacheck/replica ./internal/hacheck/failover \
  ./internal/hacheck/audit ./internal/platform ./internal/platform/mgmtapi ./internal/testharness/syncbuf

step "8/8 go test (render suites, schema corpus, install suites on the embedded cluster)"
go test -count=1 -timeout 60m ./...
# The example chart author's module: its own go.mod, terratest + pkg/hacheck.
(cd examples && go vet ./... && go test -count=1 ./...)
