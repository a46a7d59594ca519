// Package testharness groups code that only tests use: a shared embedded
// cluster per test package (clustertest), a throwaway TLS CA (tlsca), an
// embedded OCI registry (ociregistry), a chart repository server
// (chartrepo), stand-in review servers (reviewtest), RBAC grants (rbactest),
// a concurrent log buffer (syncbuf) and altered chart copies (chartcopy). Nothing under it is part of the platform binary or of
// hacheck; product code must not import it.
package testharness
