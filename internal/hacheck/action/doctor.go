package action

import (
	"context"
	"errors"
	"fmt"
	"io"

	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/install"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// DoctorOptions says which installed release to examine, and where.
type DoctorOptions struct {
	// Release and Namespace name the Helm release.
	Release, Namespace string
	// Kubeconfig and Context select the cluster; both empty use the
	// kubeconfig kubectl would ($KUBECONFIG, ~/.kube/config) and its
	// current context. Doctor only reads, so that is safe.
	Kubeconfig, Context string
	// Replicas reaches the replica processes; nil port-forwards to the
	// Pods through the API server, as kubectl port-forward does.
	Replicas verify.Replicas
	// Progress receives one line per step.
	Progress io.Writer
}

// DoctorResult is what doctor found.
type DoctorResult struct {
	// Cluster says which cluster it read.
	Cluster string `json:"cluster"`
	// Release, Namespace, Revision, Chart and Status identify the release
	// as Helm's storage records it.
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Revision  int    `json:"revision"`
	Chart     string `json:"chart"`
	Status    string `json:"status"`
	// Findings are the static rules the stored manifest breaks.
	Findings []invariants.Finding `json:"findings"`
	// Report holds the Pods and the live checks.
	Report *verify.Report `json:"report"`
}

// Passed reports whether the manifest breaks no rule and every live check
// holds.
func (r *DoctorResult) Passed() bool {
	return len(r.Findings) == 0 && r.Report != nil && r.Report.Passed()
}

// Doctor examines an installed release without changing anything: its
// manifest from Helm's storage, the static HA rules on that manifest, and
// the live checks (replicas, spread, PDB, restarts, leadership, RBAC by
// SubjectAccessReview). A release that does not exist is a
// render.InputError (bad input, exit 2).
func Doctor(ctx context.Context, opts DoctorOptions) (*DoctorResult, error) {
	if opts.Release == "" {
		return nil, &render.InputError{Err: errors.New("--release is required")}
	}
	if opts.Namespace == "" {
		opts.Namespace = render.DefaultNamespace
	}
	prog := progress.New(opts.Progress)
	c, err := cluster.Open(ctx, opts.Kubeconfig, opts.Context)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	prog.Step("reading %s (read-only)", c.Describe())
	res := &DoctorResult{Cluster: c.Describe(), Release: opts.Release, Namespace: opts.Namespace, Findings: []invariants.Finding{}}

	rel, err := install.Status(install.Options{Kubeconfig: opts.Kubeconfig, Context: opts.Context,
		Render: render.Options{ReleaseName: opts.Release, Namespace: opts.Namespace}})
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, &render.InputError{Err: fmt.Errorf("release %s in namespace %s: not found in Helm's storage", opts.Release, opts.Namespace)}
	}
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", opts.Release, err)
	}
	res.Revision = rel.Version
	if rel.Info != nil {
		res.Status = rel.Info.Status.String()
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		res.Chart = rel.Chart.Metadata.Name + "-" + rel.Chart.Metadata.Version
	}
	objs, err := render.Decode(rel.Manifest)
	if err != nil {
		return nil, fmt.Errorf("decode the manifest of release %s: %w", opts.Release, err)
	}

	prog.Step("static rules on the stored manifest (revision %d)", rel.Version)
	// Each workload's spec.replicas is taken as meant, as hacheck check and
	// pkg/hacheck do without an expectation: guessing a values key (say
	// replicaCount) would misjudge the charts where it drives only some of
	// the workloads. Objects the chart renders without a namespace are read
	// in the release's, where Helm created them.
	if res.Findings, err = invariants.Check(objs, invariants.Expectation{Namespace: rel.Namespace}); err != nil {
		return nil, fmt.Errorf("check release %s: %w", opts.Release, err)
	}
	if res.Findings == nil {
		res.Findings = []invariants.Finding{}
	}

	m, err := invariants.NewManifestIn(objs, rel.Namespace)
	if err != nil {
		return nil, err
	}
	d := m.LeaderElected()
	if d == nil {
		return nil, &render.InputError{Err: fmt.Errorf("release %s has no Deployment to examine", opts.Release)}
	}
	replicas := opts.Replicas
	if replicas == nil {
		fw := portForwards(c, d)
		defer fw.Close()
		replicas = fw
	}
	prog.Step("checking live invariants of %s/%s", d.Namespace, d.Name)
	res.Report, err = verify.Run(ctx, c.Clientset(), objs, verify.Options{Leadership: true, Replicas: replicas, Namespace: rel.Namespace})
	return res, err
}
