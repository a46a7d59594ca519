// Package hacheck checks the high-availability invariants of a Helm chart's
// rendered manifests, and of a release installed on a cluster, from Go: the
// API a chart author's terratest suite imports.
//
// Objects in, findings out. The input is the rendered manifest exactly as
// `helm template` prints it (what terratest's helm.RenderTemplate returns),
// a chart this package renders in-process with the Helm SDK, or a live
// release reached through a kubernetes.Interface. The output is a list of
// Finding values, one per broken invariant; an empty list means every rule
// holds.
//
//	out := helm.RenderTemplate(t, &helm.Options{SetValues: map[string]string{"replicaCount": "3"}}, "../chart", "my-release", nil)
//	hacheck.RequireHA(t, out, hacheck.WithReplicas(3))
//
// The rules read any chart's output, not only Primus': they find
// leader-elected workloads by their leader-election flags (--leader-elect,
// --leader-election-id, --leader-elect-lease-duration and their dialects).
// Rules lists them.
//
// # Stability (v0)
//
// This package is v0: it may change until the rules and the finding shape are
// declared stable, and then only by adding. Within v0 these hold and only
// grow: the function and type names exported here, the Finding fields and
// their JSON names, the Severity values, and the rule ids (a rule may be
// added; an id is never renamed or reused). Finding messages and rule
// descriptions are for humans and may be reworded at any time: match on Rule
// and Object, never on Message.
//
// This package does not install charts (use Helm or terratest's helm.Install
// for that) and does not depend on terratest, so importing it adds the Helm
// SDK and client-go to a module, nothing heavier.
package hacheck
