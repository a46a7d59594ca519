// Package plugin tests the hacheck helm plugin (plugin.yaml at the
// repository root and its install hook, tools/hacheck/helm-plugin/install.sh)
// with the helm CLI the embedded cluster's binaries include: installed from
// this checkout (the hook builds hacheck from source) and from a fake
// release served locally (the hook verifies the archive's sha256).
package plugin
