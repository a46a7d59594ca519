package hacheck_test

import (
	"fmt"
	"testing"

	"github.com/primus-dev/primus/pkg/hacheck"
)

// A manifest with one leader-elected replica that is fine alone, scaled to
// three without a PodDisruptionBudget or spread.
const scaledWithoutPDB = `---
# Source: mychart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-operator
  namespace: ops
spec:
  replicas: 3
  selector:
    matchLabels: {app: my-operator}
  template:
    metadata:
      labels: {app: my-operator}
    spec:
      containers:
        - name: manager
          image: example.com/my-operator:1.0.0
          args: [--leader-elect=false]
`

// CheckManifest reads what `helm template` (or terratest's
// helm.RenderTemplate) printed.
func ExampleCheckManifest() {
	findings, err := hacheck.CheckManifest(scaledWithoutPDB,
		// This example is about HA; leave Pod Security and probes aside.
		hacheck.IgnoreRules("pod-security", "probes", "service-selector"))
	if err != nil {
		panic(err)
	}
	for _, f := range findings {
		fmt.Println(f.Rule, f.Object)
	}
	// Output:
	// leader-election Deployment/ops/my-operator
	// spread Deployment/ops/my-operator
	// pdb-present Deployment/ops/my-operator
}

// CheckChart renders a chart in-process, as `hacheck check` does.
func ExampleCheckChart() {
	findings, err := hacheck.CheckChart(hacheck.ChartOptions{
		Chart: "../../charts/primus",
		Set:   []string{"replicaCount=3"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d findings\n", len(findings))
	// Output: 0 findings
}

// Rules lists the invariants with their ids, for documentation or for
// IgnoreRules.
func ExampleRules() {
	for _, r := range hacheck.Rules() {
		if r.ID == "pdb-present" {
			fmt.Printf("%s (%s): %s\n", r.ID, r.Severity, r.Description)
		}
	}
	// Output: pdb-present (error): A PodDisruptionBudget that protects something covers the workload iff it runs more than one replica.
}

// RequireHA is the one line a terratest suite adds after helm.RenderTemplate
// (this example only compiles: it needs the test's *testing.T).
func ExampleRequireHA() {
	testChart := func(t *testing.T) {
		manifest, err := hacheck.Render(hacheck.ChartOptions{Chart: "../../charts/primus", Set: []string{"replicaCount=3"}})
		if err != nil {
			t.Fatal(err)
		}
		// With terratest: manifest := helm.RenderTemplate(t, options, chartPath, "my-release", nil)
		hacheck.RequireHA(t, manifest, hacheck.WithReplicas(3))
	}
	_ = testChart
}
