package render

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// apiService is the part of an apiregistration.k8s.io/v1 APIService read
// here (the project does not depend on k8s.io/kube-aggregator).
type apiService struct {
	Spec struct {
		Service *struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Port      int32  `json:"port"`
		} `json:"service"`
		CABundle              []byte `json:"caBundle"`
		InsecureSkipTLSVerify bool   `json:"insecureSkipTLSVerify"`
	} `json:"spec"`
}

// testCA is a PEM block the schema accepts as a caBundle; the chart only
// encodes it.
const testCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

// TestManagementAPIServiceTrust: the APIService the chart registers is one
// the aggregator can trust (a caBundle for the Secret's certificate) or, on
// request, one it does not verify; anything else is refused naming the key.
func TestManagementAPIServiceTrust(t *testing.T) {
	on := []string{"managementAPI.enabled=true"}
	for _, tc := range []struct {
		name    string
		set     []string
		wantErr string
		// with no wantErr: what the APIService carries.
		insecure bool
		caBundle string
	}{
		{name: "no certificate", set: on, wantErr: "api.tlsSecretName"},
		{name: "certificate without its CA", set: append(on, "api.tlsSecretName=tls"), wantErr: "managementAPI.apiService.caBundle"},
		{name: "certificate and CA", set: append(on, "api.tlsSecretName=tls", "managementAPI.apiService.caBundle="+testCA), caBundle: testCA},
		{name: "insecure, for development", set: append(on, "managementAPI.apiService.insecureSkipTLSVerify=true"), insecure: true},
		{name: "insecure and an injected CA", set: append(on, "managementAPI.apiService.insecureSkipTLSVerify=true", "managementAPI.apiService.annotations.cert-manager\\.io/inject-ca-from=ns/cert"), wantErr: "cert-manager.io/inject-ca-from annotation"},
		{name: "insecure and a CA", set: append(on, "managementAPI.apiService.insecureSkipTLSVerify=true", "managementAPI.apiService.caBundle="+testCA), wantErr: "insecureSkipTLSVerify and managementAPI.apiService.caBundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr != "" {
				assert.Contains(t, renderErr(t, tc.set...).Error(), tc.wantErr)
				return
			}
			svc := only(t, renderChart(t, tc.set...), "APIService", &apiService{})
			assert.Equal(t, tc.insecure, svc.Spec.InsecureSkipTLSVerify)
			assert.Equal(t, tc.caBundle, string(svc.Spec.CABundle))
			require.NotNil(t, svc.Spec.Service)
			assert.Equal(t, "primus", svc.Spec.Service.Name)
			assert.Equal(t, "primus-system", svc.Spec.Service.Namespace)
			assert.Equal(t, int32(443), svc.Spec.Service.Port, "the Service's https port, the API's")
		})
	}
	t.Run("not registered by default", func(t *testing.T) {
		assert.Empty(t, render.Find(renderChart(t).Objects, "APIService"))
	})
	t.Run("not created", func(t *testing.T) {
		assert.Empty(t, render.Find(renderChart(t, "managementAPI.enabled=true", "managementAPI.apiService.create=false").Objects, "APIService"))
	})
	t.Run("registering an API that is off", func(t *testing.T) {
		assert.Contains(t, renderErr(t, "api.enabled=false", "managementAPI.enabled=true", "managementAPI.apiService.insecureSkipTLSVerify=true").Error(),
			"managementAPI.enabled registers the API with the aggregator, and api.enabled=false turns the API off")
	})
	t.Run("auditing an API that is off", func(t *testing.T) {
		assert.Contains(t, renderErr(t, "api.enabled=false", "managementAPI.audit.enabled=true").Error(), "managementAPI.audit.enabled audits the API's requests")
	})
}

// TestManagementMemberAccess: memberAccess.groups get the member
// ClusterRole (read projects, change members), and nothing is granted by
// default.
func TestManagementMemberAccess(t *testing.T) {
	on := []string{"managementAPI.enabled=true", "managementAPI.apiService.create=false"}
	none := renderChart(t, on...)
	for _, o := range render.Find(none.Objects, "ClusterRoleBinding") {
		assert.NotContains(t, o.GetName(), "management-member")
	}

	res := renderChart(t, append(on, "managementAPI.memberAccess.groups={system:authenticated,devs}")...)
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	for _, o := range render.Find(res.Objects, "ClusterRole") {
		if o.GetName() == "primus-primus-system-management-member" {
			require.NoError(t, o.Into(&role))
		}
	}
	for _, o := range render.Find(res.Objects, "ClusterRoleBinding") {
		if o.GetName() == "primus-primus-system-management-member" {
			require.NoError(t, o.Into(&binding))
		}
	}
	require.Len(t, role.Rules, 2, "the member ClusterRole")
	assert.Equal(t, []string{"projects"}, role.Rules[0].Resources)
	assert.Equal(t, []string{"get", "list", "watch"}, role.Rules[0].Verbs)
	assert.Equal(t, []string{"projects/members"}, role.Rules[1].Resources)
	assert.Equal(t, role.Name, binding.RoleRef.Name)
	var groups []string
	for _, s := range binding.Subjects {
		assert.Equal(t, rbacv1.GroupKind, s.Kind)
		groups = append(groups, s.Name)
	}
	assert.Equal(t, []string{"system:authenticated", "devs"}, groups)
}

// TestAPIOnAndOff: by default every replica serves the API on api.port,
// behind the Service's https port, with the RBAC delegated authentication
// needs; api.enabled=false renders --api-bind-address=0 and no
// API port, binding or Service port, and hacheck's invariants still hold.
func TestAPIOnAndOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     []string
		wantAPI bool
	}{
		{name: "default", set: []string{"replicaCount=3"}, wantAPI: true},
		{name: "another port", set: []string{"replicaCount=3", "api.port=9443"}, wantAPI: true},
		// helm upgrade --reuse-values from the chart that served the JSON
		// API on api.port keeps that chart's defaults: the API stays on.
		// (api.enabled=null deletes the key, which that chart did not have).
		{name: "values of the previous chart", set: []string{"replicaCount=3", "api.enabled=null", "managementAPI.enabled=false", "managementAPI.port=8444", "managementAPI.apiService.create=true"}, wantAPI: true},
		{name: "off", set: []string{"replicaCount=3", "api.enabled=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := renderChart(t, tc.set...)
			d := deployment(t, res)
			var containerPorts []string
			port := int32(0)
			for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
				containerPorts = append(containerPorts, p.Name)
				if p.Name == "api" {
					port = p.ContainerPort
				}
			}
			svc := only(t, res, "Service", &corev1.Service{})
			var svcPorts []string
			for _, p := range svc.Spec.Ports {
				svcPorts = append(svcPorts, p.Name)
			}
			bindings := render.Find(res.Objects, "ClusterRoleBinding")
			delegator := false
			for _, b := range bindings {
				var crb rbacv1.ClusterRoleBinding
				require.NoError(t, b.Into(&crb))
				delegator = delegator || crb.RoleRef.Name == "system:auth-delegator"
			}
			if tc.wantAPI {
				assert.Equal(t, fmt.Sprintf(":%d", port), argValue(t, d, "api-bind-address"))
				assert.Contains(t, containerPorts, "api")
				assert.Contains(t, svcPorts, "https")
				assert.True(t, delegator, "system:auth-delegator is bound")
			} else {
				assert.Equal(t, "0", argValue(t, d, "api-bind-address"))
				assert.NotContains(t, containerPorts, "api")
				assert.NotContains(t, svcPorts, "https")
				assert.False(t, delegator, "no API, no delegation")
			}
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				assert.NotContains(t, a, "--management-api-bind-address", "the deprecated flag is not rendered")
			}
			findings, err := invariants.Check(res.Objects, invariants.Expectation{Replicas: 3})
			require.NoError(t, err)
			assert.Empty(t, findings)
		})
	}
}
