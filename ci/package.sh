#!/usr/bin/env bash
# Package the chart for a release: the archive, its provenance file when a
# key is given, and the repository index, in one directory.
#
#   bash ci/package.sh [--chart DIR] [--destination DIR] [--tag vX.Y.Z]
#                      [--url URL] [--merge INDEX]
#                      [--key NAME --keyring SECRING [--passphrase-file FILE]]
#
# The version comes from one place, the chart's Chart.yaml `version`. The
# script packages exactly what Chart.yaml says and refuses a chart whose
# `appVersion` or artifacthub.io image tag disagrees with it, or a release
# tag that is not v<version>: one git tag, one chart version, one image tag.
#
# --url and --merge are `helm repo index`'s: the URL the archives are served
# from, and the published index.yaml to keep the older versions of.
# The release workflow and tests/repository both run this script.
set -euo pipefail

chart=charts/primus dest=dist tag="" url="" merge="" key="" keyring="" passphrase_file=""
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case $1 in
    --chart) chart=$2 ;;
    --destination) dest=$2 ;;
    --tag) tag=$2 ;;
    --url) url=$2 ;;
    --merge) merge=$2 ;;
    --key) key=$2 ;;
    --keyring) keyring=$2 ;;
    --passphrase-file) passphrase_file=$2 ;;
    *) usage ;;
  esac
  shift 2
done
die() { echo "package: $*" >&2; exit 1; }

# field prints a top-level field of the chart's metadata, as helm reads it.
field() { helm show chart "$chart" | sed -n "s/^$1: *//p" | tr -d "'\""; }
name=$(field name)
version=$(field version)
app_version=$(field appVersion)
[ -n "$version" ] || die "$chart/Chart.yaml has no version"
[ "$app_version" = "$version" ] ||
  die "$chart/Chart.yaml: appVersion $app_version differs from version $version; Primus releases the chart and the binary together, bump both"
if [ -n "$tag" ] && [ "$tag" != "v$version" ]; then
  die "tag $tag does not match $chart/Chart.yaml version $version (want v$version)"
fi
# The artifacthub.io/images annotation names the image the chart deploys.
while read -r image; do
  [ "${image##*:}" = "$app_version" ] || die "$chart/Chart.yaml: annotation image $image is not tagged $app_version"
done < <(sed -n 's/^ *image: *//p' "$chart/Chart.yaml")

mkdir -p "$dest"
package=(helm package "$chart" --destination "$dest")
if [ -n "$key" ]; then
  [ -n "$keyring" ] || die "--key needs --keyring (a secret keyring: gpg --export-secret-keys > secring.gpg)"
  package+=(--sign --key "$key" --keyring "$keyring")
  [ -z "$passphrase_file" ] || package+=(--passphrase-file "$passphrase_file")
fi
"${package[@]}"
archive="$dest/$name-$version.tgz"
if [ -n "$key" ]; then
  # Check the signature the way users will, before anything is published.
  helm verify "$archive" --keyring "$keyring"
fi

index=(helm repo index "$dest")
[ -z "$url" ] || index+=(--url "$url")
[ -z "$merge" ] || index+=(--merge "$merge")
"${index[@]}"
echo "packaged $archive${key:+ (signed by $key)} and $dest/index.yaml"
