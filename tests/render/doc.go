// Package render holds the chart's render suites: the chart rendered through
// the Helm SDK for many value sets, asserted on decoded Kubernetes objects,
// plus golden files and a parity test against the helm CLI (the path
// terratest's helm.RenderTemplate takes).
package render
