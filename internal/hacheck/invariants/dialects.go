package invariants

// Dialect is one way of spelling leader election on a command line or in
// the environment. A name that starts with "-" is a flag (Go's flag and
// pflag read -name and --name alike, with "=value" or, for flags that take
// a value, the next argument); any other name is an environment variable.
type Dialect struct {
	// Name identifies the dialect in the controller table and the config file.
	Name string `json:"name"`
	// Enable are bool switches that turn leader election on when true
	// (a bare flag is true).
	Enable []string `json:"enable,omitempty"`
	// Disable are bool switches that turn it off when true.
	Disable []string `json:"disable,omitempty"`
	// LeaseName and LeaseNamespace locate the Lease.
	LeaseName      []string `json:"leaseName,omitempty"`
	LeaseNamespace []string `json:"leaseNamespace,omitempty"`
	// ResourceLock names the lock kind; anything but a Lease lock takes the
	// workload out of the Lease rules.
	ResourceLock []string `json:"resourceLock,omitempty"`
	// LeaseWatch are bool switches that make the standbys list and watch
	// the Lease too (primus --lease-watch), which then needs list and watch.
	LeaseWatch []string `json:"leaseWatch,omitempty"`
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election.
	LeaseDuration []string `json:"leaseDuration,omitempty"`
	RenewDeadline []string `json:"renewDeadline,omitempty"`
	RetryPeriod   []string `json:"retryPeriod,omitempty"`
}

// builtinDialects are the spellings of the well-known controllers. A
// container whose image is not in the controller table is read with all of
// them at once (see genericDialect).
var builtinDialects = []Dialect{
	{
		// k8s.io/component-base/config/options.BindLeaderElectionFlags:
		// kube-scheduler, kube-controller-manager, cluster-autoscaler,
		// descheduler, the VPA recommender and updater.
		Name: "component-base", Enable: []string{"--leader-elect"},
		LeaseName: []string{"--leader-elect-resource-name"}, LeaseNamespace: []string{"--leader-elect-resource-namespace"},
		ResourceLock:  []string{"--leader-elect-resource-lock"},
		LeaseDuration: []string{"--leader-elect-lease-duration"}, RenewDeadline: []string{"--leader-elect-renew-deadline"}, RetryPeriod: []string{"--leader-elect-retry-period"},
	},
	{
		// kubebuilder scaffolds and the controllers built on them
		// (controller-runtime's manager.Options): external-secrets, keda,
		// aws-load-balancer-controller, flux.
		Name: "controller-runtime", Enable: []string{"--leader-elect", "--enable-leader-election", "--leader-election"},
		LeaseName: []string{"--leader-election-id"}, LeaseNamespace: []string{"--leader-election-namespace"},
		LeaseDuration: []string{"--leader-election-lease-duration"}, RenewDeadline: []string{"--leader-election-renew-deadline"}, RetryPeriod: []string{"--leader-election-retry-period"},
	},
	{
		// cert-manager's controller and cainjector (cmd/*/app/options).
		Name: "cert-manager", Enable: []string{"--leader-elect"}, LeaseNamespace: []string{"--leader-election-namespace"},
		LeaseDuration: []string{"--leader-election-lease-duration"}, RenewDeadline: []string{"--leader-election-renew-deadline"}, RetryPeriod: []string{"--leader-election-retry-period"},
	},
	{
		// ingress-nginx (pkg/flags/flags.go): on unless disabled; the Lease
		// is named by --election-id.
		Name: "ingress-nginx", Disable: []string{"--disable-leader-election"}, LeaseName: []string{"--election-id"},
	},
	{
		// Kubernetes CSI sidecars (external-provisioner, -attacher,
		// -resizer, -snapshotter).
		Name: "csi-sidecar", Enable: []string{"--leader-election"}, LeaseNamespace: []string{"--leader-election-namespace"},
		LeaseDuration: []string{"--leader-election-lease-duration"}, RenewDeadline: []string{"--leader-election-renew-deadline"}, RetryPeriod: []string{"--leader-election-retry-period"},
	},
	{
		// crossplane core and rbac-manager (kong flags with env defaults).
		Name: "crossplane", Enable: []string{"--leader-election", "LEADER_ELECTION"},
	},
	{
		// argo-cd's applicationset controller: the flag's default comes from
		// the environment, which the chart fills from argocd-cmd-params-cm.
		Name: "argocd-applicationset", Enable: []string{"--enable-leader-election", "ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_LEADER_ELECTION"},
	},
	{
		// keda's operator: controller-runtime flags, timings from env.
		Name: "keda", Enable: []string{"--leader-elect"}, LeaseName: []string{"--leader-election-id"},
		LeaseDuration: []string{"KEDA_OPERATOR_LEADER_ELECTION_LEASE_DURATION"}, RenewDeadline: []string{"KEDA_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE"}, RetryPeriod: []string{"KEDA_OPERATOR_LEADER_ELECTION_RETRY_PERIOD"},
	},
	{
		// cluster-autoscaler binds component-base's flags but puts the
		// Lease in --namespace (main.go: resourcelock.New(..., ConfigNamespace, ...)).
		Name: "cluster-autoscaler", Enable: []string{"--leader-elect"}, LeaseName: []string{"--leader-elect-resource-name"},
		LeaseNamespace: []string{"--namespace"}, ResourceLock: []string{"--leader-elect-resource-lock"},
		LeaseDuration: []string{"--leader-elect-lease-duration"}, RenewDeadline: []string{"--leader-elect-renew-deadline"}, RetryPeriod: []string{"--leader-elect-retry-period"},
	},
	{
		// karpenter (sigs.k8s.io/karpenter pkg/operator/options/options.go):
		// on unless --disable-leader-election or DISABLE_LEADER_ELECTION.
		Name: "karpenter", Disable: []string{"--disable-leader-election", "DISABLE_LEADER_ELECTION"},
		LeaseNamespace: []string{"--leader-election-namespace", "LEADER_ELECTION_NAMESPACE"},
	},
	{
		// The primus binary (cmd/primus/flags.go).
		Name: "primus", Enable: []string{"--leader-elect"}, LeaseName: []string{"--leader-election-id"}, LeaseNamespace: []string{"--leader-election-namespace"},
		LeaseWatch:    []string{"--lease-watch"},
		LeaseDuration: []string{"--lease-duration"}, RenewDeadline: []string{"--renew-deadline"}, RetryPeriod: []string{"--retry-period"},
	},
}

// genericDialect reads a container of an unknown image with every dialect
// at once, except the names that mean leader election only for one binary
// (cluster-autoscaler's --namespace).
func genericDialect(dialects []Dialect) Dialect {
	out := Dialect{Name: "any known dialect"}
	seen := map[string]bool{}
	add := func(dst *[]string, names []string) {
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				*dst = append(*dst, n)
			}
		}
	}
	for _, d := range dialects {
		if d.Name == "cluster-autoscaler" {
			continue
		}
		add(&out.Enable, d.Enable)
		add(&out.Disable, d.Disable)
		add(&out.LeaseName, d.LeaseName)
		add(&out.LeaseNamespace, d.LeaseNamespace)
		add(&out.ResourceLock, d.ResourceLock)
		add(&out.LeaseWatch, d.LeaseWatch)
		add(&out.LeaseDuration, d.LeaseDuration)
		add(&out.RenewDeadline, d.RenewDeadline)
		add(&out.RetryPeriod, d.RetryPeriod)
	}
	return out
}

// dialectNamed finds a dialect by name; user dialects override built-in ones.
func dialectNamed(dialects []Dialect, name string) (Dialect, bool) {
	for i := len(dialects) - 1; i >= 0; i-- {
		if dialects[i].Name == name {
			return dialects[i], true
		}
	}
	return Dialect{}, false
}
