package invariants

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"primus.dev/primus/internal/render"
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
		wantFinding: true, wantObject: "(manifest)", wantMessage: "no Deployment was rendered"},

	{name: "leader election on at 3 replicas", file: "leader-election/pass.yaml", rule: "leader-election"},
	{name: "leader election off at 1 replica with Recreate", file: "leader-election/pass-2.yaml", rule: "leader-election"},
	{name: "leader election off at 3 replicas", file: "leader-election/fail.yaml", rule: "leader-election",
		wantFinding: true, wantObject: deployment, wantMessage: "3 replicas with --leader-elect=false"},
	{name: "leader election off during a rolling update", file: "leader-election/fail-2.yaml", rule: "leader-election",
		wantFinding: true, wantObject: deployment, wantMessage: "with a RollingUpdate strategy"},

	{name: "lease timing ordered", file: "lease-timing/pass.yaml", rule: "lease-timing"},
	{name: "renew deadline equals lease duration", file: "lease-timing/fail.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: deployment, wantMessage: "renew deadline 15s must be shorter than lease duration 15s"},
	{name: "retry period equals renew deadline", file: "lease-timing/fail-2.yaml", rule: "lease-timing",
		wantFinding: true, wantObject: deployment, wantMessage: "retry period 10s must be shorter than renew deadline 10s"},

	{name: "args, Lease and Role agree", file: "lease-consistency/pass.yaml", rule: "lease-consistency"},
	{name: "two workloads, two Leases, two Roles", file: "lease-consistency/pass-2.yaml", rule: "lease-consistency"},
	{name: "rendered Lease differs from args", file: "lease-consistency/fail.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: deployment, wantMessage: "args name Lease primus/primus-leader but the rendered Lease is Lease/primus/primus-lock"},
	{name: "Role resourceNames name another Lease", file: "lease-consistency/fail-2.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: leaseRole, wantMessage: `do not include the Lease "primus-leader"`},
	{name: "no leader election id", file: "lease-consistency/fail-3.yaml", rule: "lease-consistency",
		wantFinding: true, wantObject: deployment, wantMessage: "no --leader-election-id names the Lease"},

	{name: "Role grants create, get, update", file: "lease-role/pass.yaml", rule: "lease-role"},
	{name: "Role lacks create", file: "lease-role/fail.yaml", rule: "lease-role",
		wantFinding: true, wantObject: deployment, wantMessage: `grants create on Lease "primus-leader"`},
	{name: "Role restricts create by name", file: "lease-role/fail-2.yaml", rule: "lease-role",
		wantFinding: true, wantObject: deployment, wantMessage: `grants create on Lease "primus-leader"`},
	{name: "Lease RBAC in the Lease's namespace", file: "lease-role/pass-2.yaml", rule: "lease-role"},

	{name: "RoleBinding binds the pods' ServiceAccount", file: "lease-rolebinding/pass.yaml", rule: "lease-rolebinding"},
	{name: "RoleBinding binds another ServiceAccount", file: "lease-rolebinding/fail.yaml", rule: "lease-rolebinding",
		wantFinding: true, wantObject: leaseRole, wantMessage: "to ServiceAccount primus/primus, the one Deployment/primus/primus runs as"},
	{name: "pods run as the default ServiceAccount", file: "lease-rolebinding/fail-2.yaml", rule: "lease-rolebinding",
		wantFinding: true, wantObject: leaseRole, wantMessage: "to ServiceAccount primus/default"},
	{name: "subject namespace defaults to the binding's", file: "lease-rolebinding/pass-2.yaml", rule: "lease-rolebinding"},

	{name: "Leases granted by a Role only", file: "rbac-namespaced/pass.yaml", rule: "rbac-namespaced"},
	{name: "ClusterRole grants Leases", file: "rbac-namespaced/fail.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRole/primus-leader-election", wantMessage: "grants access to Leases cluster-wide"},
	{name: "wildcard ClusterRole", file: "rbac-namespaced/fail-2.yaml", rule: "rbac-namespaced",
		wantFinding: true, wantObject: "ClusterRole/primus-leader-election", wantMessage: "grants access to Leases cluster-wide"},

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

	{name: "maxSurge 1 maxUnavailable 0", file: "rollout/pass.yaml", rule: "rollout"},
	{name: "default strategy at 3", file: "rollout/pass-2.yaml", rule: "rollout"},
	{name: "Recreate at 3", file: "rollout/fail.yaml", rule: "rollout",
		wantFinding: true, wantObject: deployment, wantMessage: "Recreate strategy takes all 3 replicas down"},
	{name: "maxUnavailable 50% of 4", file: "rollout/fail-2.yaml", rule: "rollout",
		wantFinding: true, wantObject: deployment, wantMessage: "maxUnavailable resolves to 2 of 4 replicas"},

	{name: "Service selects the pods", file: "service-selector/pass.yaml", rule: "service-selector"},
	{name: "Service selects no pods", file: "service-selector/fail.yaml", rule: "service-selector",
		wantFinding: true, wantObject: svcObject, wantMessage: "selector matches the pods of no Deployment"},
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
		assert.Equal(t, Finding{Rule: "replicas", Object: deployment, Message: "spec.replicas is 3, asked for 5"}, findings[0])
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
		assert.NotNil(t, r.check, "rule %s has no check", r.ID)
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
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.yaml"))
	require.NoError(t, err)
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
	b, err := os.ReadFile(filepath.Join("testdata", file))
	require.NoError(t, err)
	objs, err := render.Decode(string(b))
	require.NoError(t, err)
	require.NotEmpty(t, objs, "%s decodes to no object", file)
	findings, err := Check(objs, exp)
	require.NoError(t, err)
	return findings
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
