// Package testharness groups code that only tests use: a shared embedded
// cluster per test package (clustertest), a throwaway TLS CA (tlsca), an
// embedded OCI registry (ociregistry) and a chart repository server
// (chartrepo). Nothing under it is part of the platform binary or of
// hacheck; product code must not import it.
package testharness
