#!/usr/bin/env bash
# Build the hacheck binaries a release publishes, with their checksums:
#
#   bash ci/build-hacheck.sh [--tag vX.Y.Z] [--destination DIR] [--platforms "linux/amd64 ..."]
#
# Writes DIR/hacheck_<version>_<os>_<arch>.tar.gz for each platform (default
# linux and darwin on amd64 and arm64) and DIR/hacheck_<version>_checksums.txt
# (sha256sum format, what the helm plugin's install hook verifies). The
# version is stamped with -ldflags -X main.version, so `hacheck version`
# prints it.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="" dest=dist platforms="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64"
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
  case $1 in
    --tag) tag=$2 ;;
    --destination) dest=$2 ;;
    --platforms) platforms=$2 ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
  shift 2
done
version=${tag:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

archives=()
for platform in $platforms; do
  os=${platform%/*} arch=${platform#*/}
  name="hacheck_${version#v}_${os}_${arch}"
  mkdir -p "$work/$name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X main.version=$version" -o "$work/$name/hacheck" ./tools/hacheck
  cp LICENSE "$work/$name/" 2>/dev/null || true
  tar -C "$work/$name" -czf "$dest/$name.tar.gz" .
  archives+=("$name.tar.gz")
done
(cd "$dest" && sha256sum "${archives[@]}" > "hacheck_${version#v}_checksums.txt")
echo "built ${#archives[@]} hacheck archive(s) in $dest"
