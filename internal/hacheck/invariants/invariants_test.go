package invariants

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// ruleCase checks one testdata manifest against one rule: a pass manifest
// must produce no finding of the rule, a fail manifest at least one, on
// wantObject, whose message contains wantMessage.
type ruleCase struct {
	name        string
	file        string
	exp         Expectation
	rule        string
	wantFinding bool
	wantObject  string
	wantMessage string
	// wantSeverity, when set, is the severity the finding must have.
	wantSeverity Severity
}

const (
	deployment = "Deployment/primus/primus"
	leaseRole  = "Role/primus/primus-leader-election"
	pdbObject  = "PodDisruptionBudget/primus/primus"
	svcObject  = "Service/primus/primus"
)

// ruleCases covers every file under testdata/<rule-id>/ (see
// TestRuleCasesCoverTestdata).
var ruleCases = []ruleCase{
	{name: "replicas as asked", file: "replicas/pass.yaml", exp: Expectation{Replicas: 3}, rule: "replicas"},
	{name: "replicas 0 means whatever the workload says", file: "replicas/fail.yaml", rule: "replicas"},
	{name: "replicas fewer than asked", file: "replicas/fail.yaml", exp: Expectation{Replicas: 3}, rule: "replicas",
		wantFinding: true, wantObject: deployment, wantMessage: "spec.replicas is 1, asked for 3"},
	{name: "replicas unset defaults to 1", file: "replicas/fail-2.yaml", exp: Expectation{Replicas: 2}, rule: "replicas",
		wantFinding: true, wantObject: deployment, wantMessage: "spec.replicas is 1, asked for 2"},
	{name: "replicas without a Deployment", file: "replicas/fail-3.yaml", exp: Expectation{Replicas: 3}, rule: "replicas",
		wantFinding: true, wantObject: "(manifest)", wantMessage: "no Deployment or StatefulSet was rendered"},

	{name: "leader election on at 3 replicas", file: "leader-election/pass.yaml", rule: "leader-election"},
	{name: "leader election off at 1 replica with Recreate", file: "leader-election/pass-2.yaml", rule: "leader-election"},
	{name: "leader election off at 3 replicas", file: "leader-election/fail.yaml", rule: "leader-election",
		wantFinding: true, wantObject: deployment, wantMessage: "3 replicas and leader election is off (--leader-elect=false (container \"primus\"))"},
	{name: "leader election off during a rolling update", file: "leader-election/fail-2.yaml", rule: "leader-election",
		wantFinding: true, wantObject: deployment, wantMessage: "the RollingUpdate strategy briefly runs two pods"},

	{name: "lease timing ordered", file: "lease-timing/pass.yaml", rule: "lease-timing"},
	{name: "renew deadline equals lease duration", file: "lease-timing/fail.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: deployment, wantMessage: "--lease-duration (15s) must be longer than --renew-deadline (15s)"},
	{name: "retry period equals renew deadline", file: "lease-timing/fail-2.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: deployment, wantMessage: "--renew-deadline (10s) must be longer than 1.2 x --retry-period (10s)"},

	{name: "args, Lease and Role agree", file: "lease-consistency/pass.yaml", rule: "lease-consistency"},
	{name: "two workloads, two Leases, two Roles", file: "lease-consistency/pass-2.yaml", rule: "lease-consistency"},
	{name: "rendered Lease differs from args", file: "lease-consistency/fail.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: deployment, wantMessage: "the pods elect on Lease primus/primus-leader but the rendered Lease is Lease/primus/primus-lock"},
	{name: "Role resourceNames name another Lease", file: "lease-consistency/fail-2.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: leaseRole, wantMessage: `do not include the Lease "primus-leader"`},
	{name: "no leader election id", file: "lease-consistency/fail-3.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: deployment, wantMessage: "no --leader-election-id names the Lease"},

	{name: "Role grants create, get, update", file: "lease-role/pass.yaml", rule: "lease-role"},
	{name: "Role lacks create", file: "lease-role/fail.yaml", rule: "lease-role",
		wantFinding: true, wantObject: deployment, wantMessage: "may not create Lease primus/primus-leader"},
	{name: "Role restricts create by name", file: "lease-role/fail-2.yaml", rule: "lease-role",
		wantFinding: true, wantObject: deployment, wantMessage: "may not create Lease primus/primus-leader"},
	{name: "Lease RBAC in the Lease's namespace", file: "lease-role/pass-2.yaml", rule: "lease-role"},
	{name: "Role lacks list and watch for --lease-watch", file: "lease-role/fail-3.yaml", rule: "lease-role",
		wantFinding: true, wantObject: deployment, wantMessage: "may not list, watch Lease primus/primus-leader"},
	{name: "Role grants list and watch for --lease-watch", file: "lease-role/pass-3.yaml", rule: "lease-role"},

	{name: "RoleBinding binds the pods' ServiceAccount", file: "lease-rolebinding/pass.yaml", rule: "lease-rolebinding"},
	{name: "RoleBinding binds another ServiceAccount", file: "lease-rolebinding/fail.yaml", rule: "lease-rolebinding",
		wantFinding: true, wantObject: leaseRole, wantMessage: "to ServiceAccount primus/primus, the one Deployment/primus/primus runs as"},
	{name: "pods run as the default ServiceAccount", file: "lease-rolebinding/fail-2.yaml", rule: "lease-rolebinding",
		wantFinding: true, wantObject: leaseRole, wantMessage: "to ServiceAccount primus/default"},
	{name: "subject namespace defaults to the binding's", file: "lease-rolebinding/pass-2.yaml", rule: "lease-rolebinding"},
	{name: "objects without a namespace, read in the release namespace", file: "lease-rolebinding/fail-3.yaml", exp: Expectation{Namespace: "flux-system"}, rule: "lease-rolebinding"},
	{name: "objects without a namespace, release namespace unknown", file: "lease-rolebinding/fail-3.yaml", rule: "lease-rolebinding",
		wantFinding: true, wantObject: "Role/default/ctl-leader-election", wantMessage: "no binding in default gives it to ServiceAccount default/ctl"},

	{name: "Leases granted by a Role only", file: "rbac-namespaced/pass.yaml", rule: "rbac-namespaced"},
	{name: "ClusterRole grants Leases", file: "rbac-namespaced/fail.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRoleBinding/primus-leader-election", wantMessage: "update, create on Leases in every namespace", wantSeverity: SeverityWarning},
	{name: "wildcard ClusterRole", file: "rbac-namespaced/fail-2.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRoleBinding/primus-leader-election", wantMessage: "on Leases in every namespace"},

	{name: "soft anti-affinity", file: "spread/pass.yaml", rule: "spread"},
	{name: "zone topology spread", file: "spread/pass-2.yaml", rule: "spread"},
	{name: "no spread", file: "spread/fail.yaml", rule: "spread",
		wantFinding: true, wantObject: deployment, wantMessage: "3 replicas with no pod anti-affinity or topology spread selecting them"},
	{name: "anti-affinity selecting other pods", file: "spread/fail-2.yaml", rule: "spread",
		wantFinding: true, wantObject: deployment, wantMessage: "no pod anti-affinity or topology spread selecting them"},

	{name: "PDB at 3 replicas", file: "pdb-present/pass.yaml", rule: "pdb-present"},
	{name: "no PDB at 1 replica", file: "pdb-present/pass-2.yaml", rule: "pdb-present"},
	{name: "no PDB at 3 replicas", file: "pdb-present/fail.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: deployment, wantMessage: "3 replicas and no PodDisruptionBudget"},
	{name: "PDB at 1 replica", file: "pdb-present/fail-2.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: pdbObject, wantMessage: "on a single replica blocks node drains"},
	{name: "PDB covers one of two workloads", file: "pdb-present/fail-3.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: "Deployment/primus/primus-webhook", wantMessage: "3 replicas and no PodDisruptionBudget"},

	{name: "PDB selects the pods", file: "pdb-selector/pass.yaml", rule: "pdb-selector"},
	{name: "empty PDB selector selects the namespace", file: "pdb-selector/pass-2.yaml", rule: "pdb-selector"},
	{name: "PDB selects a label the pods lack", file: "pdb-selector/fail.yaml", rule: "pdb-selector",
		wantFinding: true, wantObject: pdbObject, wantMessage: "selector does not match the pod template labels"},
	{name: "PDB matches one of two matchLabels", file: "pdb-selector/fail-2.yaml", rule: "pdb-selector",
		wantFinding: true, wantObject: pdbObject, wantMessage: "selector does not match the pod template labels"},

	{name: "DaemonSet under an integer minAvailable", file: "pdb-disruptions/pass-3.yaml", rule: "pdb-disruptions"},
	{name: "neither minAvailable nor maxUnavailable", file: "pdb-disruptions/fail-7.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: "PodDisruptionBudget/ops/web", wantMessage: "allows 0 disruptions at 2 replicas (neither minAvailable nor maxUnavailable set): a node drain would block forever"},
	{name: "DaemonSet under maxUnavailable", file: "pdb-disruptions/fail-5.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: "PodDisruptionBudget/ops/agent", wantMessage: "selects the pods of DaemonSet/ops/agent with maxUnavailable: 1: the disruption controller cannot scale a DaemonSet", wantSeverity: SeverityWarning},
	{name: "DaemonSet under a percentage minAvailable", file: "pdb-disruptions/fail-6.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: "PodDisruptionBudget/ops/agent", wantMessage: "with minAvailable: 50%"},
	{name: "maxUnavailable 1 of 3", file: "pdb-disruptions/pass.yaml", rule: "pdb-disruptions"},
	{name: "minAvailable 50% of 3", file: "pdb-disruptions/pass-2.yaml", rule: "pdb-disruptions"},
	{name: "minAvailable 3 of 3", file: "pdb-disruptions/fail.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: pdbObject, wantMessage: "allows 0 disruptions at 3 replicas"},
	{name: "minAvailable 100%", file: "pdb-disruptions/fail-2.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: pdbObject, wantMessage: "allows 0 disruptions at 3 replicas"},
	{name: "maxUnavailable 0%", file: "pdb-disruptions/fail-3.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: pdbObject, wantMessage: "allows 0 disruptions at 3 replicas"},
	{name: "HPA minReplicas 1 under minAvailable 1", file: "pdb-disruptions/fail-4.yaml", rule: "pdb-disruptions",
		wantFinding: true, wantObject: pdbObject, wantMessage: "allows 0 disruptions at 1 replicas"},

	{name: "DaemonSet surges", file: "rollout/pass-3.yaml", rule: "rollout"},
	{name: "DaemonSet 25% of nodes", file: "rollout/pass-4.yaml", rule: "rollout"},
	{name: "DaemonSet every node at once", file: "rollout/fail-4.yaml", rule: "rollout",
		wantFinding: true, wantObject: "DaemonSet/ops/agent", wantMessage: "maxUnavailable 100% takes down the pod on every node at once"},
	{name: "maxSurge 1 maxUnavailable 0", file: "rollout/pass.yaml", rule: "rollout"},
	{name: "default strategy at 3", file: "rollout/pass-2.yaml", rule: "rollout"},
	{name: "Recreate at 3", file: "rollout/fail.yaml", rule: "rollout",
		wantFinding: true, wantObject: deployment, wantMessage: "Recreate strategy takes all 3 replicas down"},
	{name: "maxUnavailable 50% of 4", file: "rollout/fail-2.yaml", rule: "rollout",
		wantFinding: true, wantObject: deployment, wantMessage: "maxUnavailable resolves to 2 of 4 replicas"},

	{name: "Service selects the pods", file: "service-selector/pass.yaml", rule: "service-selector"},
	{name: "Service selects no pods", file: "service-selector/fail.yaml", rule: "service-selector",
		wantFinding: true, wantObject: svcObject, wantMessage: "matches no pod this chart renders"},
	{name: "Service selects the leader", file: "service-selector/fail-2.yaml", rule: "service-selector",
		wantFinding: true, wantObject: svcObject, wantMessage: `selects by "primus.dev/leader"`},
	{name: "no Service", file: "service-selector/fail-3.yaml", rule: "service-selector",
		wantFinding: true, wantObject: deployment, wantMessage: "no Service selects these pods"},

	{name: "readiness on /readyz", file: "probes/pass.yaml", rule: "probes"},
	{name: "no readiness probe", file: "probes/fail.yaml", rule: "probes",
		wantFinding: true, wantObject: deployment, wantMessage: "container primus has no readiness probe"},
	{name: "readiness on /leader", file: "probes/fail-2.yaml", rule: "probes",
		wantFinding: true, wantObject: deployment, wantMessage: "readiness probe depends on leadership: non-leaders would be removed from the Service"},
	{name: "liveness execs is-leader", file: "probes/fail-3.yaml", rule: "probes",
		wantFinding: true, wantObject: deployment, wantMessage: "liveness probe depends on leadership: non-leaders would be restarted"},
	{name: "startup probe waits for leadership", file: "probes/fail-4.yaml", rule: "probes",
		wantFinding: true, wantObject: deployment, wantMessage: "startup probe depends on leadership"},

	{name: "restricted security context", file: "pod-security/pass.yaml", rule: "pod-security"},
	{name: "no security context", file: "pod-security/fail.yaml", rule: "pod-security",
		wantFinding: true, wantObject: deployment, wantMessage: "allowPrivilegeEscalation != false"},
	{name: "host network", file: "pod-security/fail-2.yaml", rule: "pod-security",
		wantFinding: true, wantObject: deployment, wantMessage: "host namespaces"},
	// Upstream patterns: each reproduces how a public chart spells it.
	{name: "cert-manager elects by default", file: "leader-election/pass-3.yaml", rule: "leader-election"},
	{name: "crossplane LEADER_ELECTION=false at 3", file: "leader-election/fail-3.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/crossplane-system/crossplane", wantMessage: `3 replicas and leader election is off (env LEADER_ELECTION="false" (container "crossplane"))`},
	{name: "argo-cd applicationset off through a configMapKeyRef", file: "leader-election/fail-4.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/argocd/argocd-applicationset-controller", wantMessage: "from ConfigMap argocd-cmd-params-cm key applicationsetcontroller.enable.leader.election"},
	{name: "argo-cd applicationset on through a configMapKeyRef", file: "leader-election/pass-4.yaml", rule: "leader-election"},
	{name: "StatefulSet with leader election off", file: "leader-election/fail-5.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "StatefulSet/ops/ctl", wantMessage: "3 replicas and leader election is off"},
	{name: "HPA-scaled descheduler, off by default", file: "leader-election/fail-6.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/kube-system/descheduler", wantMessage: "up to 4 replicas (HorizontalPodAutoscaler/kube-system/descheduler) and leader election is off (no leader-election setting; the descheduler binary does not elect unless told to"},
	{name: "autoscaling/v1 HPA scales an unelected controller", file: "leader-election/fail-8.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "up to 5 replicas (HorizontalPodAutoscaler/ops/ctl) and leader election is off"},
	{name: "one sidecar off beside elected ones", file: "leader-election/fail-9.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/storage/csi-controller", wantMessage: `2 replicas and container "csi-provisioner", beside containers that elect, has leader election off (--leader-election=false (container "csi-provisioner"))`},
	{name: "every sidecar elected", file: "leader-election/pass-7.yaml", rule: "leader-election"},
	{name: "DaemonSet not judged", file: "leader-election/pass-5.yaml", rule: "leader-election"},
	{name: "shell script and $(VAR) read", file: "leader-election/pass-6.yaml", rule: "leader-election"},
	{name: "external-dns cannot elect", file: "leader-election/fail-7.yaml", rule: "leader-election",
		wantFinding: true, wantObject: "Deployment/ops/external-dns", wantMessage: "the external-dns binary cannot elect a leader"},

	{name: "webhook needs no election", file: "leader-election-unknown/pass.yaml", rule: "leader-election-unknown"},
	{name: "unknown image at one replica", file: "leader-election-unknown/pass-2.yaml", rule: "leader-election-unknown"},
	{name: "unknown image with Lease RBAC", file: "leader-election-unknown/fail.yaml", rule: "leader-election-unknown",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "its ServiceAccount ctl may write Leases, so it likely elects", wantSeverity: SeverityWarning},
	{name: "unknown image that only reads Leases", file: "leader-election-unknown/fail-3.yaml", rule: "leader-election-unknown",
		wantFinding: true, wantObject: "Deployment/monitoring/exporter", wantMessage: "in command, args and env; if it runs controllers, declare the image", wantSeverity: SeverityInfo},
	{name: "unknown image without Lease RBAC", file: "leader-election-unknown/fail-2.yaml", rule: "leader-election-unknown",
		wantFinding: true, wantObject: "Deployment/ops/web", wantMessage: "it looked for --leader-elect, --enable-leader-election"},

	{name: "cert-manager lease shorter than renew", file: "lease-timing/fail-3.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: "Deployment/cert-manager/cert-manager", wantMessage: "--leader-election-lease-duration (10s) must be longer than --leader-election-renew-deadline (15s)"},
	{name: "renew not above 1.2 x retry", file: "lease-timing/fail-4.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "--leader-elect-renew-deadline (2s) must be longer than 1.2 x --leader-elect-retry-period (1.8s)"},
	{name: "descheduler default timings", file: "lease-timing/pass-2.yaml", rule: "lease-timing"},
	{name: "primus margin under 1s", file: "lease-timing/fail-5.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: "Deployment/ops/primus", wantMessage: "--lease-duration (10.5s) must exceed --renew-deadline (10s) by at least 1s: the margin bounds how late a leader's last write may land: the primus binary refuses"},

	{name: "ClusterRole and ClusterRoleBinding", file: "lease-role/pass-7.yaml", rule: "lease-role"},
	{name: "RoleBinding to a ClusterRole in the Lease namespace", file: "lease-role/pass-4.yaml", rule: "lease-role"},
	{name: "system:serviceaccounts:ns group", file: "lease-role/pass-5.yaml", rule: "lease-role"},
	{name: "wildcard Role", file: "lease-role/pass-6.yaml", rule: "lease-role"},
	{name: "no Lease permission at all", file: "lease-role/fail-5.yaml", rule: "lease-role",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "may not get, create, update Lease ops/ctl"},
	{name: "Lease RBAC in the wrong namespace", file: "lease-role/fail-4.yaml", rule: "lease-role",
		wantFinding: true, wantObject: "Deployment/cert-manager/cert-manager", wantMessage: "may not get, create, update Lease kube-system/cert-manager-controller"},

	{name: "unbound wildcard, read-only cluster-wide", file: "rbac-namespaced/pass-2.yaml", rule: "rbac-namespaced"},
	{name: "one binding, two ServiceAccounts", file: "rbac-namespaced/fail-4.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRoleBinding/crd-controller", wantMessage: "gives ServiceAccounts gitops/source-controller, gitops/helm-controller update, patch, delete, create on Leases in every namespace (ClusterRole/crd-controller); leader election needs them only for their own Leases (gitops/?)"},
	{name: "only create cluster-wide is info", file: "rbac-namespaced/fail-3.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRoleBinding/autoscaler", wantMessage: "create on Leases in every namespace (ClusterRole/autoscaler) but no update, patch or delete on other Leases", wantSeverity: SeverityInfo},

	{name: "update restricted by name", file: "lease-resource-names/pass.yaml", rule: "lease-resource-names"},
	{name: "update on every Lease", file: "lease-resource-names/fail.yaml", rule: "lease-resource-names",
		wantFinding: true, wantObject: "Role/ops/leases", wantMessage: `update every Lease in ops, not only "ctl": it can take over other controllers' elections; restrict update and patch with resourceNames: [ctl], adding any other Lease the binary writes`},

	{name: "suppressed with a reason", file: "suppression/pass.yaml", rule: "suppression"},
	{name: "suppression without a reason", file: "suppression/fail.yaml", rule: "suppression",
		wantFinding: true, wantObject: "Deployment/ops/web", wantMessage: "has no reason, so it suppresses nothing"},

	{name: "maxUnavailable 1 on one replica", file: "pdb-present/pass-3.yaml", rule: "pdb-present"},
	{name: "minAvailable 0 protects nothing", file: "pdb-present/fail-4.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: "PodDisruptionBudget/ops/web", wantMessage: "allows all 2 replicas to be disrupted at once (minAvailable: 0)"},
	{name: "StatefulSet without PDB", file: "pdb-present/fail-5.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: "StatefulSet/ops/db", wantMessage: "3 replicas and no PodDisruptionBudget"},
	{name: "DaemonSet needs no PDB", file: "pdb-present/pass-4.yaml", rule: "pdb-present"},
	{name: "autoscaling/v1 HPA minReplicas 2 without PDB", file: "pdb-present/fail-6.yaml", rule: "pdb-present",
		wantFinding: true, wantObject: "Deployment/ops/web", wantMessage: "2 replicas and no PodDisruptionBudget"},

	{name: "Service selects DaemonSet pods", file: "service-selector/pass-2.yaml", rule: "service-selector"},
	{name: "controller serving no API", file: "service-selector/pass-3.yaml", rule: "service-selector"},
	{name: "no readiness needed without a Service", file: "probes/pass-2.yaml", rule: "probes"},

	{name: "nothing asked", file: "replicas/pass-2.yaml", rule: "replicas"},
	{name: "--expect names one workload", file: "replicas/fail-4.yaml", exp: Expectation{Workloads: map[string]int{"cert-manager": 3}}, rule: "replicas",
		wantFinding: true, wantObject: "Deployment/cert-manager/cert-manager", wantMessage: "spec.replicas is 2, asked for 3"},
	{name: "--expect pattern matches the webhook only", file: "replicas/fail-4.yaml", exp: Expectation{Workloads: map[string]int{"Deployment/*-webhook": 3}}, rule: "replicas"},
	{name: "StatefulSet maxUnavailable 2 of 3", file: "rollout/fail-3.yaml", rule: "rollout",
		wantFinding: true, wantObject: "StatefulSet/ops/db", wantMessage: "maxUnavailable resolves to 2 of 3 replicas"},
	{name: "unrelated wildcard ClusterRole", file: "rbac-namespaced/pass-2.yaml", rule: "rbac-namespaced"},

	// Upgrade rules: NAME.old.yaml is the installed revision.
	{name: "Lease kept across the upgrade", file: "upgrade-lease/pass.yaml", rule: "upgrade-lease"},
	{name: "Lease renamed under a rolling update", file: "upgrade-lease/fail.yaml", rule: "upgrade-lease",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "the installed pods elect on Lease ops/ctl and the upgraded ones on ops/ctl-v2"},
	{name: "Lease renamed under Recreate", file: "upgrade-lease/pass-2.yaml", rule: "upgrade-lease"},
	{name: "dropped Lease kept by Helm", file: "upgrade-lease-kept/pass.yaml", rule: "upgrade-lease-kept"},
	{name: "dropped Lease deleted by Helm", file: "upgrade-lease-kept/fail.yaml", rule: "upgrade-lease-kept",
		wantFinding: true, wantObject: "Lease/ops/ctl", wantMessage: "Helm deletes the live Lease"},
	{name: "selector kept", file: "upgrade-selector/pass.yaml", rule: "upgrade-selector"},
	{name: "selector changed", file: "upgrade-selector/fail.yaml", rule: "upgrade-selector",
		wantFinding: true, wantObject: "Deployment/ops/ctl", wantMessage: "spec.selector changes from app=ctl to app=ctl,tier=control"},
	{name: "PDB kept", file: "upgrade-pdb/pass.yaml", rule: "upgrade-pdb"},
	{name: "PDB dropped at 3 replicas", file: "upgrade-pdb/fail.yaml", rule: "upgrade-pdb",
		wantFinding: true, wantObject: "Deployment/ops/web", wantMessage: "removes the PodDisruptionBudget (PodDisruptionBudget/ops/web) while 3 replicas run"},
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			findings := checkFile(t, tc.file, tc.exp)
			got := ofRule(findings, tc.rule)
			if !tc.wantFinding {
				assert.Empty(t, got, "%s must pass rule %s", tc.file, tc.rule)
				return
			}
			require.NotEmpty(t, got, "%s must break rule %s", tc.file, tc.rule)
			var messages []string
			for _, f := range got {
				if f.Object == tc.wantObject && strings.Contains(f.Message, tc.wantMessage) {
					if tc.wantSeverity != "" {
						assert.Equal(t, tc.wantSeverity, f.Severity, "severity of %s", f.Message)
					}
					return
				}
				messages = append(messages, f.Object+": "+f.Message)
			}
			assert.Failf(t, "finding not reported", "want a %s finding on %s containing %q, got:\n%s",
				tc.rule, tc.wantObject, tc.wantMessage, strings.Join(messages, "\n"))
		})
	}
}

func TestHARelease(t *testing.T) {
	t.Run("passes every rule at the asked replicas", func(t *testing.T) {
		assert.Empty(t, checkFile(t, "ha-release.yaml", Expectation{Replicas: 3}))
	})
	t.Run("breaks only replicas when asked for more", func(t *testing.T) {
		findings := checkFile(t, "ha-release.yaml", Expectation{Replicas: 5})
		require.Len(t, findings, 1)
		assert.Equal(t, Finding{Rule: "replicas", Severity: SeverityError, Object: deployment, Message: "spec.replicas is 3, asked for 5", Source: "primus/templates/deployment.yaml"}, findings[0])
	})
}

// TestRulesHaveTestdata fails the build for a rule added without a manifest
// that passes it and one that breaks it.
func TestRulesHaveTestdata(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules() {
		assert.False(t, seen[r.ID], "duplicate rule id %q", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Description, "rule %s has no description", r.ID)
		assert.True(t, r.check != nil || r.upgrade != nil, "rule %s has no check", r.ID)
		for _, f := range []string{"pass.yaml", "fail.yaml"} {
			assert.FileExists(t, filepath.Join("testdata", r.ID, f), "rule %s needs testdata/%s/%s", r.ID, r.ID, f)
		}
	}
	dirs, err := os.ReadDir("testdata")
	require.NoError(t, err)
	for _, d := range dirs {
		if d.IsDir() {
			assert.True(t, seen[d.Name()], "testdata/%s names no rule", d.Name())
		}
	}
}

// TestRuleCasesCoverTestdata keeps testdata and the table in step: every
// manifest under testdata/<rule-id>/ is checked, against its own rule.
func TestRuleCasesCoverTestdata(t *testing.T) {
	all, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	require.NoError(t, err)
	var files []string
	for _, f := range all {
		if old, ok := strings.CutSuffix(f, ".old.yaml"); ok {
			assert.FileExists(t, old+".yaml", "%s is the installed revision of no case", f)
			continue // read with its next revision
		}
		files = append(files, f)
	}
	require.NotEmpty(t, files)
	// covered maps each checked file to whether some case expects a finding.
	covered := map[string]bool{}
	for _, tc := range ruleCases {
		assert.Equal(t, tc.rule, filepath.Dir(tc.file), "case %q checks %s against another rule", tc.name, tc.file)
		if strings.HasPrefix(filepath.Base(tc.file), "pass") {
			assert.False(t, tc.wantFinding, "case %q expects a finding from a pass manifest", tc.name)
		}
		covered[tc.file] = covered[tc.file] || tc.wantFinding
	}
	for _, f := range files {
		rel, err := filepath.Rel("testdata", f)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		failing, ok := covered[rel]
		if assert.True(t, ok, "no case checks testdata/%s", rel) && strings.HasPrefix(filepath.Base(rel), "fail") {
			assert.True(t, failing, "no case expects testdata/%s to break its rule", rel)
		}
	}
}

func checkFile(t *testing.T, file string, exp Expectation) []Finding {
	t.Helper()
	objs := decodeFile(t, file)
	if old := strings.TrimSuffix(file, ".yaml") + ".old.yaml"; fileExists(filepath.Join("testdata", old)) {
		rep, err := AnalyzeUpgrade(decodeFile(t, old), objs, exp)
		require.NoError(t, err)
		return rep.Findings
	}
	findings, err := Check(objs, exp)
	require.NoError(t, err)
	return findings
}

func decodeFile(t *testing.T, file string) []render.Object {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	objs, err := render.Decode(string(b))
	require.NoError(t, err)
	require.NotEmpty(t, objs, "%s decodes to no object", file)
	return objs
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func ofRule(findings []Finding, rule string) []Finding {
	var out []Finding
	for _, f := range findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// TestRBACNamespacedOneFindingPerBinding: a ClusterRoleBinding that gives
// several ServiceAccounts cluster-wide Lease writes is one finding.
func TestRBACNamespacedOneFindingPerBinding(t *testing.T) {
	assert.Len(t, ofRule(checkFile(t, "rbac-namespaced/fail-4.yaml", Expectation{}), "rbac-namespaced"), 1)
}

// TestUpgradeOneFindingPerDefect: a PDB the upgrade drops is upgrade-pdb's
// finding, not pdb-present's as well.
func TestUpgradeOneFindingPerDefect(t *testing.T) {
	findings := checkFile(t, "upgrade-pdb/fail.yaml", Expectation{})
	assert.Len(t, ofRule(findings, "upgrade-pdb"), 1)
	assert.Empty(t, ofRule(findings, "pdb-present"))
}
