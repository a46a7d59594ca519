#!/bin/sh
# The hacheck helm plugin's install and update hook (plugin.yaml at the
# repository root runs it). It puts the hacheck binary at
# $HELM_PLUGIN_DIR/bin/hacheck, the plugin's command:
#
# 1. download hacheck_<version>_<os>_<arch>.tar.gz and
#    hacheck_<version>_checksums.txt (what ci/build-hacheck.sh writes and the
#    release workflow attaches) from the GitHub release v<version>, where
#    <version> is plugin.yaml's version;
# 2. verify the archive's sha256 against its line in the checksums file and
#    refuse it (exit 1, nothing installed) when the line is missing or differs;
# 3. when no release is reachable and the plugin folder is a checkout of the
#    module (go.mod and tools/hacheck, with go on PATH), build hacheck from
#    source with `go build` instead. A checksum mismatch never falls back.
#
# Environment:
#   HACHECK_RELEASE_URL   base URL of the releases (default
#                         https://github.com/primus-dev/primus/releases/download);
#                         the files are fetched from $HACHECK_RELEASE_URL/v<version>/
#   HACHECK_BUILD_FROM_SOURCE=1   skip the download and build from the checkout
set -eu

plugin_dir=${HELM_PLUGIN_DIR:?HELM_PLUGIN_DIR is not set: run this through helm plugin install}
base_url=${HACHECK_RELEASE_URL:-https://github.com/primus-dev/primus/releases/download}
bin_dir="$plugin_dir/bin"

fail() {
	echo "hacheck plugin: $*" >&2
	exit 1
}

version=$(sed -n 's/^version:[[:space:]]*"\{0,1\}\([^"[:space:]]*\)"\{0,1\}.*$/\1/p' "$plugin_dir/plugin.yaml" | head -n 1)
[ -n "$version" ] || fail "no version in $plugin_dir/plugin.yaml"

os=$(uname -s | tr '[:upper:]' '[:lower:]')
case $(uname -m) in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

is_checkout() {
	[ -f "$plugin_dir/go.mod" ] && [ -d "$plugin_dir/tools/hacheck" ] && command -v go >/dev/null 2>&1
}

build_from_source() {
	echo "hacheck plugin: building hacheck $version from $plugin_dir with go build"
	mkdir -p "$bin_dir"
	(cd "$plugin_dir" && go build -ldflags "-X main.version=v$version-source" -o "$bin_dir/hacheck.new" ./tools/hacheck) ||
		fail "go build ./tools/hacheck failed"
	mv -f "$bin_dir/hacheck.new" "$bin_dir/hacheck"
	echo "hacheck plugin: installed $bin_dir/hacheck (built from source)"
}

# fetch URL FILE downloads URL to FILE; it fails on an HTTP error status.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 2 --connect-timeout 10 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -T 10 -O "$2" "$1"
	else
		fail "need curl or wget to download $1"
	fi
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		fail "need sha256sum or shasum to verify the download"
	fi
}

if [ "${HACHECK_BUILD_FROM_SOURCE:-}" = 1 ]; then
	is_checkout || fail "HACHECK_BUILD_FROM_SOURCE=1 needs a checkout of the module with go on PATH; $plugin_dir is not one"
	build_from_source
	exit 0
fi

archive="hacheck_${version}_${os}_${arch}.tar.gz"
sums="hacheck_${version}_checksums.txt"
url="$base_url/v$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "hacheck plugin: downloading $url/$archive"
if ! fetch "$url/$archive" "$work/$archive" || ! fetch "$url/$sums" "$work/$sums"; then
	if is_checkout; then
		echo "hacheck plugin: no release v$version reachable at $url; building from the checkout"
		build_from_source
		exit 0
	fi
	fail "could not download $url/$archive and its checksums (no release v$version for $os/$arch?)"
fi

want=$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/$sums")
[ -n "$want" ] || fail "refusing $archive: no checksum for it in $sums"
got=$(sha256 "$work/$archive")
[ "$got" = "$want" ] || fail "refusing $archive: sha256 $got does not match $want from $sums"

mkdir -p "$work/x" "$bin_dir"
tar -xzf "$work/$archive" -C "$work/x" ./hacheck 2>/dev/null || tar -xzf "$work/$archive" -C "$work/x" hacheck ||
	fail "$archive holds no hacheck binary"
chmod +x "$work/x/hacheck"
mv -f "$work/x/hacheck" "$bin_dir/hacheck"
echo "hacheck plugin: installed $bin_dir/hacheck $version ($os/$arch, sha256 verified)"
