package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestProjectScopePolicyRendering(t *testing.T) {
	cases := []struct {
		name        string
		kubeVersion string
		set         []string
		want        bool
	}{
		{name: "default", want: true},
		{name: "Kubernetes 1.30, where the API is GA", kubeVersion: "v1.30.0", want: true},
		{name: "Kubernetes 1.29 has no v1 policy API", kubeVersion: "v1.29.4"},
		{name: "turned off", set: []string{"rbac.projectScopePolicy=false"}},
		{name: "no RBAC", set: []string{"rbac.create=false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system", Set: tc.set, KubeVersion: tc.kubeVersion})
			require.NoError(t, err)
			if !tc.want {
				assert.Empty(t, render.Find(res.Objects, "ValidatingAdmissionPolicy"))
				assert.Empty(t, render.Find(res.Objects, "ValidatingAdmissionPolicyBinding"))
				return
			}
			p := only(t, res, "ValidatingAdmissionPolicy", &admissionregistrationv1.ValidatingAdmissionPolicy{})
			b := only(t, res, "ValidatingAdmissionPolicyBinding", &admissionregistrationv1.ValidatingAdmissionPolicyBinding{})
			assert.Equal(t, p.Name, b.Spec.PolicyName)
			assert.Equal(t, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}, b.Spec.ValidationActions)
			require.NotNil(t, p.Spec.FailurePolicy)
			assert.Equal(t, admissionregistrationv1.Fail, *p.Spec.FailurePolicy)
			require.Len(t, p.Spec.MatchConditions, 1)
			assert.Equal(t, `request.userInfo.username == "system:serviceaccount:primus-system:primus"`, p.Spec.MatchConditions[0].Expression,
				"only the chart's ServiceAccount is bounded")
			var resources []string
			for _, r := range p.Spec.MatchConstraints.ResourceRules {
				resources = append(resources, r.Resources...)
			}
			assert.ElementsMatch(t, []string{"namespaces", "resourcequotas", "rolebindings"}, resources)
		})
	}
}
