package invariants

import (
	"path"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/platform/leader/timing"
)

// Election is what a controller's binary does about leader election when
// its command line and environment say nothing.
type Election string

const (
	// DefaultOn: the binary elects unless told not to.
	DefaultOn Election = "default-on"
	// DefaultOff: the binary elects only when told to.
	DefaultOff Election = "default-off"
	// Always: the binary always elects; nothing turns it off.
	Always Election = "always"
	// NotNeeded: the binary runs no singleton work (a webhook, an API
	// server, a sharded controller): any number of replicas is safe.
	NotNeeded Election = "not-needed"
	// Unsupported: the binary cannot elect; it must run one pod at a time.
	Unsupported Election = "unsupported"
)

// Controller is one entry of the controller table: a well-known image and
// what its binary does by default.
type Controller struct {
	// Name names the entry in evidence ("cert-manager controller").
	Name string `json:"name,omitempty"`
	// Image is an image repository, matched against the end of the
	// container's (registry mirrors keep matching): "jetstack/cert-manager-controller".
	Image string `json:"image"`
	// Command, when set, must be the program or subcommand the container
	// runs (the base name of its first word, or its first argument): one
	// image can hold several programs.
	Command string `json:"command,omitempty"`
	// LeaderElection is the binary's default.
	LeaderElection Election `json:"leaderElection"`
	// Dialect names how the binary spells leader election (see Dialect).
	Dialect string `json:"dialect,omitempty"`
	// LeaseName and LeaseNamespace are the binary's defaults; an empty
	// namespace is the pod's own.
	LeaseName      string `json:"leaseName,omitempty"`
	LeaseNamespace string `json:"leaseNamespace,omitempty"`
	// LeaseDuration, RenewDeadline and RetryPeriod are the binary's defaults.
	LeaseDuration metav1.Duration `json:"leaseDuration,omitempty"`
	RenewDeadline metav1.Duration `json:"renewDeadline,omitempty"`
	RetryPeriod   metav1.Duration `json:"retryPeriod,omitempty"`
	// MinLeaseMargin is the least leaseDuration - renewDeadline the binary
	// accepts beyond client-go's rule (primus: timing.MinLeaseMargin).
	MinLeaseMargin metav1.Duration `json:"minLeaseMargin,omitempty"`
	// SharedDefaultLease: the default Lease name is the same for every
	// release, so a release must name its own.
	SharedDefaultLease bool `json:"sharedDefaultLease,omitempty"`
	// ServesAPI: every replica serves an API, so a Service must select the
	// pods and they need a readiness probe.
	ServesAPI bool `json:"servesAPI,omitempty"`
	// APIAddressFlag, when set, is the flag of the API's address; the
	// value "0" there turns the API off (ServesAPI then does not hold).
	APIAddressFlag string `json:"apiAddressFlag,omitempty"`
	// DeprecatedAPIAddressFlag, when set, is an older flag of the API's
	// address that replaces APIAddressFlag when set to a non-empty value.
	DeprecatedAPIAddressFlag string `json:"deprecatedAPIAddressFlag,omitempty"`
	// Documented says where the defaults are stated upstream.
	Documented string `json:"documented,omitempty"`
}

func d(v time.Duration) metav1.Duration { return metav1.Duration{Duration: v} }

// builtinControllers is the table of well-known controllers. Each entry
// cites where its defaults are documented (file paths are in the project's
// upstream repository at the time the entry was written).
var builtinControllers = []Controller{
	{
		// This repository: cmd/primus/flags.go (--leader-elect=false,
		// --leader-election-id=primus-leader, 15s/10s/2s); the Lease is in
		// $POD_NAMESPACE unless --leader-election-namespace says otherwise.
		Name: "primus", Image: "primus-dev/primus", LeaderElection: DefaultOff, Dialect: "primus",
		LeaseName: "primus-leader", LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		MinLeaseMargin: d(timing.MinLeaseMargin), SharedDefaultLease: true, ServesAPI: true, APIAddressFlag: PrimusAPIAddressFlag, DeprecatedAPIAddressFlag: PrimusDeprecatedAPIAddressFlag, Documented: "cmd/primus/flags.go",
	},
	{
		// cert-manager/cert-manager internal/apis/config/shared/v1alpha1/defaults.go:
		// defaultLeaderElect = true, namespace kube-system, 60s/40s/15s;
		// cmd/controller/app/controller.go: lockName "cert-manager-controller".
		Name: "cert-manager controller", Image: "jetstack/cert-manager-controller", LeaderElection: DefaultOn, Dialect: "cert-manager",
		LeaseName: "cert-manager-controller", LeaseNamespace: "kube-system",
		LeaseDuration: d(60 * time.Second), RenewDeadline: d(40 * time.Second), RetryPeriod: d(15 * time.Second),
		Documented: "cert-manager internal/apis/config/shared/v1alpha1/defaults.go",
	},
	{
		// Same defaults (shared config); cmd/cainjector/app/controller.go:
		// LeaderElectionID "cert-manager-cainjector-leader-election".
		Name: "cert-manager cainjector", Image: "jetstack/cert-manager-cainjector", LeaderElection: DefaultOn, Dialect: "cert-manager",
		LeaseName: "cert-manager-cainjector-leader-election", LeaseNamespace: "kube-system",
		LeaseDuration: d(60 * time.Second), RenewDeadline: d(40 * time.Second), RetryPeriod: d(15 * time.Second),
		Documented: "cert-manager internal/apis/config/shared/v1alpha1/defaults.go",
	},
	{
		// The admission webhook serves requests and runs no controllers.
		Name: "cert-manager webhook", Image: "jetstack/cert-manager-webhook", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "cert-manager cmd/webhook (no leader-election flags)",
	},
	{
		// kubernetes/ingress-nginx pkg/flags/flags.go: --election-id
		// default "ingress-controller-leader", --disable-leader-election
		// default false; the Lease is in the pod's namespace. Every replica
		// serves traffic; the leader alone updates Ingress status.
		Name: "ingress-nginx controller", Image: "ingress-nginx/controller", LeaderElection: DefaultOn, Dialect: "ingress-nginx",
		LeaseName: "ingress-controller-leader", ServesAPI: true, Documented: "ingress-nginx pkg/flags/flags.go",
	},
	{
		Name: "ingress-nginx controller (chroot)", Image: "ingress-nginx/controller-chroot", LeaderElection: DefaultOn, Dialect: "ingress-nginx",
		LeaseName: "ingress-controller-leader", ServesAPI: true, Documented: "ingress-nginx pkg/flags/flags.go",
	},
	{
		Name: "default backend", Image: "defaultbackend-amd64", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "a static HTTP 404 server",
	},
	{
		// kubernetes-sigs/external-dns charts/external-dns/templates/deployment.yaml:
		// "replicaCount must be 0 or 1: external-dns does not support leader election".
		Name: "external-dns", Image: "external-dns/external-dns", LeaderElection: Unsupported,
		Documented: "external-dns charts/external-dns/templates/deployment.yaml",
	},
	{
		// kubernetes-sigs/descheduler cmd/descheduler/app/options/options.go
		// newDefaultComponentConfig: LeaderElect false, Lease descheduler in
		// kube-system, 137s/107s/26s.
		Name: "descheduler", Image: "descheduler/descheduler", LeaderElection: DefaultOff, Dialect: "component-base",
		LeaseName: "descheduler", LeaseNamespace: "kube-system",
		LeaseDuration: d(137 * time.Second), RenewDeadline: d(107 * time.Second), RetryPeriod: d(26 * time.Second),
		Documented: "descheduler cmd/descheduler/app/options/options.go",
	},
	{
		// kubernetes/autoscaler cluster-autoscaler/main.go
		// leaderElectionConfiguration: LeaderElect true, Lease
		// cluster-autoscaler, 15s/10s/2s, in --namespace (default kube-system).
		Name: "cluster-autoscaler", Image: "autoscaling/cluster-autoscaler", LeaderElection: DefaultOn, Dialect: "cluster-autoscaler",
		LeaseName: "cluster-autoscaler", LeaseNamespace: "kube-system",
		LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "autoscaler cluster-autoscaler/main.go",
	},
	{
		// kubernetes/autoscaler vertical-pod-autoscaler/pkg/recommender/main.go
		// defaultLeaderElectionConfiguration: LeaderElect false, Lease
		// vpa-recommender-lease in kube-system, 15s/10s/2s.
		Name: "VPA recommender", Image: "autoscaling/vpa-recommender", LeaderElection: DefaultOff, Dialect: "component-base",
		LeaseName: "vpa-recommender-lease", LeaseNamespace: "kube-system",
		LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "autoscaler vertical-pod-autoscaler/pkg/recommender/main.go",
	},
	{
		// vertical-pod-autoscaler/pkg/updater/main.go: LeaderElect false,
		// Lease vpa-updater in kube-system, 15s/10s/2s.
		Name: "VPA updater", Image: "autoscaling/vpa-updater", LeaderElection: DefaultOff, Dialect: "component-base",
		LeaseName: "vpa-updater", LeaseNamespace: "kube-system",
		LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "autoscaler vertical-pod-autoscaler/pkg/updater/main.go",
	},
	{
		Name: "VPA admission controller", Image: "autoscaling/vpa-admission-controller", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "autoscaler vertical-pod-autoscaler/pkg/admission-controller (a webhook)",
	},
	{
		// kyverno/kyverno cmd/kyverno/main.go: leaderelection.New("kyverno",
		// config.KyvernoNamespace(), ...) with no flag to turn it off;
		// pkg/leaderelection/leaderelection.go derives the lease (6x) and
		// renew (5x) durations from the retry period, so they always hold.
		Name: "kyverno admission controller", Image: "kyverno/kyverno", LeaderElection: Always, LeaseName: "kyverno", ServesAPI: true,
		Documented: "kyverno cmd/kyverno/main.go",
	},
	{
		Name: "kyverno background controller", Image: "kyverno/background-controller", LeaderElection: Always, LeaseName: "kyverno-background-controller",
		Documented: "kyverno cmd/background-controller/main.go",
	},
	{
		Name: "kyverno cleanup controller", Image: "kyverno/cleanup-controller", LeaderElection: Always, LeaseName: "kyverno-cleanup-controller", ServesAPI: true,
		Documented: "kyverno cmd/cleanup-controller/main.go",
	},
	{
		Name: "kyverno reports controller", Image: "kyverno/reports-controller", LeaderElection: Always, LeaseName: "kyverno-reports-controller",
		Documented: "kyverno cmd/reports-controller/main.go",
	},
	{
		// external-secrets/external-secrets cmd/controller/root.go:
		// --enable-leader-election default false, --leader-election-id
		// default external-secrets-controller, 15s/10s/2s.
		Name: "external-secrets controller", Image: "external-secrets/external-secrets", LeaderElection: DefaultOff, Dialect: "controller-runtime",
		LeaseName: "external-secrets-controller", LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "external-secrets cmd/controller/root.go",
	},
	{
		// cmd/controller/certcontroller.go: --enable-leader-election default
		// false, LeaderElectionID "crd-certs-controller", controller-runtime's
		// 15s/10s/2s.
		Name: "external-secrets cert-controller", Image: "external-secrets/external-secrets", Command: "certcontroller", LeaderElection: DefaultOff, Dialect: "controller-runtime",
		LeaseName: "crd-certs-controller", LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "external-secrets cmd/controller/certcontroller.go",
	},
	{
		Name: "external-secrets webhook", Image: "external-secrets/external-secrets", Command: "webhook", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "external-secrets cmd/controller/webhook.go (no leader election)",
	},
	{
		// kedacore/keda cmd/operator/main.go: --leader-elect default false,
		// --leader-election-id default operator.keda.sh; timings from
		// KEDA_OPERATOR_LEADER_ELECTION_* or controller-runtime's 15s/10s/2s.
		Name: "keda operator", Image: "kedacore/keda", LeaderElection: DefaultOff, Dialect: "keda",
		LeaseName: "operator.keda.sh", LeaseDuration: d(15 * time.Second), RenewDeadline: d(10 * time.Second), RetryPeriod: d(2 * time.Second),
		Documented: "keda cmd/operator/main.go",
	},
	{
		Name: "keda metrics API server", Image: "kedacore/keda-metrics-apiserver", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "keda cmd/adapter (an aggregated API server)",
	},
	{
		Name: "keda admission webhooks", Image: "kedacore/keda-admission-webhooks", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "keda cmd/webhooks",
	},
	{
		// crossplane/crossplane cmd/crossplane/core/core.go: LeaderElection
		// default:"false" env:"LEADER_ELECTION", LeaderElectionID
		// "crossplane-leader-election-core".
		Name: "crossplane", Image: "crossplane/crossplane", Command: "core", LeaderElection: DefaultOff, Dialect: "crossplane",
		LeaseName: "crossplane-leader-election-core", Documented: "crossplane cmd/crossplane/core/core.go",
	},
	{
		// cmd/crossplane/rbac/rbac.go: env LEADER_ELECTION, LeaderElectionID
		// "crossplane-leader-election-rbac".
		Name: "crossplane rbac-manager", Image: "crossplane/crossplane", Command: "rbac", LeaderElection: DefaultOff, Dialect: "crossplane",
		LeaseName: "crossplane-leader-election-rbac", Documented: "crossplane cmd/crossplane/rbac/rbac.go",
	},
	{
		// kubernetes-sigs/karpenter pkg/operator/options/options.go:
		// --disable-leader-election / DISABLE_LEADER_ELECTION default false;
		// the Lease is karpenter-leader-election in the pod's namespace
		// (LEADER_ELECTION_NAMESPACE overrides it).
		Name: "karpenter", Image: "karpenter/controller", LeaderElection: DefaultOn, Dialect: "karpenter",
		LeaseName: "karpenter-leader-election", ServesAPI: true,
		Documented: "karpenter pkg/operator/options/options.go",
	},
	{
		// An aggregated API server: every replica serves the metrics API.
		Name: "metrics-server", Image: "metrics-server/metrics-server", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "kubernetes-sigs/metrics-server (no leader election)",
	},
	{
		// kubernetes-sigs/aws-load-balancer-controller docs/deploy/configurations.md:
		// enable-leader-election default true; the chart's Role names the
		// Lease aws-load-balancer-controller-leader.
		Name: "aws-load-balancer-controller", Image: "aws-load-balancer-controller", LeaderElection: DefaultOn, Dialect: "controller-runtime",
		LeaseName: "aws-load-balancer-controller-leader", ServesAPI: true,
		Documented: "aws-load-balancer-controller docs/deploy/configurations.md",
	},
	{
		// argoproj/argo-cd cmd/argocd-applicationset-controller/commands/applicationset_controller.go:
		// --enable-leader-election defaults to
		// $ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_LEADER_ELECTION, else false;
		// LeaderElectionID "58ac56fa.applicationsets.argoproj.io".
		Name: "argo-cd applicationset controller", Image: "argoproj/argocd", Command: "argocd-applicationset-controller", LeaderElection: DefaultOff, Dialect: "argocd-applicationset",
		LeaseName:  "58ac56fa.applicationsets.argoproj.io",
		Documented: "argo-cd cmd/argocd-applicationset-controller/commands/applicationset_controller.go",
	},
	{
		// The application controller shards clusters over its replicas
		// (ARGOCD_CONTROLLER_REPLICAS) instead of electing a leader.
		Name: "argo-cd application controller", Image: "argoproj/argocd", Command: "argocd-application-controller", LeaderElection: NotNeeded,
		Documented: "argo-cd docs/operator-manual/high_availability.md (sharding)",
	},
	{
		Name: "argo-cd server", Image: "argoproj/argocd", Command: "argocd-server", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "argo-cd docs/operator-manual/high_availability.md",
	},
	{
		Name: "argo-cd repo server", Image: "argoproj/argocd", Command: "argocd-repo-server", LeaderElection: NotNeeded, ServesAPI: true,
		Documented: "argo-cd docs/operator-manual/high_availability.md",
	},
	{
		// An exporter: it only reads the API (Leases too, for kube_lease)
		// and serves metrics; replicas either shard the objects
		// (--shard/--total-shards, automated sharding) or serve the same
		// metrics. Nothing to elect.
		Name: "kube-state-metrics", Image: "kube-state-metrics/kube-state-metrics", LeaderElection: NotNeeded,
		Documented: "kube-state-metrics README.md#horizontal-sharding, #automated-sharding",
	},
}

// imageRepository is an image reference without its tag and digest.
func imageRepository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// programWords are the words a Controller's Command may match: the base
// name of the command's first word and the first arguments that are not
// flags.
func programWords(command, args []string) []string {
	var out []string
	if len(command) > 0 {
		out = append(out, path.Base(command[0]))
		if len(command) > 1 && !strings.HasPrefix(command[1], "-") {
			out = append(out, path.Base(command[1]))
		}
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		out = append(out, path.Base(args[0]))
	}
	return out
}

// lookupController finds the table entry for a container: the longest image
// match, an entry whose Command matches before one without. Later tables
// (the user's) win ties.
func lookupController(table []Controller, image string, words []string) (Controller, bool) {
	repo := imageRepository(image)
	best, bestScore := Controller{}, -1
	for _, c := range table {
		if c.Image == "" || (repo != c.Image && !strings.HasSuffix(repo, "/"+c.Image)) {
			continue
		}
		score := len(c.Image)
		if c.Command != "" {
			if !containsString(words, c.Command) {
				continue
			}
			score += 1000
		}
		if score >= bestScore {
			best, bestScore = c, score
		}
	}
	return best, bestScore >= 0
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
