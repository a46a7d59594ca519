package mgmtapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/mgmtapi"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// testNamespace is the release namespace; the test users are its
// ServiceAccounts.
const testNamespace = "mgmtapi-test"

// The test users: ServiceAccounts of testNamespace. alice, bob and carol
// may use the management API; root may also read and delete every
// primus.dev Project; dave may not use the management API at all.
const (
	alice = "alice"
	bob   = "bob"
	carol = "carol"
	root  = "root"
	dave  = "dave"
)

// codecs decode the management types for the test's clients.
var codecs = func() serializer.CodecFactory {
	scheme := kruntime.NewScheme()
	if err := mgmtv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme)
}()

func saName(name string) string { return "system:serviceaccount:" + testNamespace + ":" + name }

// env is a management API server on the embedded cluster, running as the
// chart's ServiceAccount, and a token per test user.
type env struct {
	inst   *replica.Installation
	host   string
	tokens map[string]string
}

func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "charts", "primus")
}

// startEnv installs the chart's CRD and RBAC (with the management API's
// reader of the cluster's authentication ConfigMap), grants the test users their
// access and starts the server with the chart's ServiceAccount.
func startEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	inst, err := replica.Install(ctx, testCluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: testNamespace},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(t, inst.Close(ctx))
	})
	e := &env{inst: inst, tokens: map[string]string{}}
	for _, u := range []string{alice, bob, carol, root, dave} {
		e.tokens[u], err = inst.Token(ctx, u, time.Hour)
		require.NoError(t, err)
	}
	grant(t, inst, "mgmtapi-test-users", mgmtv1.GroupName, []string{"get", "list", "watch", "create", "update", "patch", "delete"}, alice, bob, carol, root)
	grant(t, inst, "mgmtapi-test-root", primusv1.GroupName, []string{"get", "list", "watch", "delete"}, root)

	dir := t.TempDir()
	kubeconfig, err := inst.WriteKubeconfig(ctx, dir, time.Hour)
	require.NoError(t, err)
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	scheme := kruntime.NewScheme()
	require.NoError(t, primusv1.AddToScheme(scheme))
	projects, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := mgmtapi.New(mgmtapi.Options{Listener: ln, Kubeconfig: kubeconfig, Projects: projects})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(runCtx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return srv.Ready(nil) == nil }, time.Minute, 50*time.Millisecond, "the server never became ready")
	e.host = "https://" + ln.Addr().String()
	t.Cleanup(func() { deleteTestProjects(t, inst) })
	return e
}

// grant gives the ServiceAccounts verbs on group's projects through a
// ClusterRole and ClusterRoleBinding, removed at cleanup.
func grant(t *testing.T, inst *replica.Installation, name, group string, verbs []string, users ...string) {
	t.Helper()
	rbac := inst.Kube().RbacV1()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{"projects"}, Verbs: verbs}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
	}
	for _, u := range users {
		binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: "ServiceAccount", Name: u, Namespace: testNamespace})
	}
	_, err := rbac.ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = rbac.ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	})
}

// deleteTestProjects removes the Projects the test made.
func deleteTestProjects(t *testing.T, inst *replica.Installation) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := inst.Projects(ctx)
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	var names []string
	for _, p := range list {
		names = append(names, p.Name)
	}
	if err := inst.DeleteProjects(ctx, names); err != nil {
		t.Logf("cleanup: %v", err)
	}
}

// config is the client configuration of user for the server: the token
// only, as a direct caller sends it.
func (e *env) config(user string) *rest.Config {
	return &rest.Config{
		Host: e.host, BearerToken: e.tokens[user], APIPath: "/apis",
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}, // the server's certificate is self-signed
		ContentConfig:   rest.ContentConfig{GroupVersion: &mgmtv1.SchemeGroupVersion, NegotiatedSerializer: codecs.WithoutConversion()},
		Timeout:         30 * time.Second,
	}
}

func (e *env) client(t *testing.T, user string) *rest.RESTClient {
	t.Helper()
	c, err := rest.RESTClientFor(e.config(user))
	require.NoError(t, err)
	return c
}

func (e *env) create(t *testing.T, user string, p *mgmtv1.Project) (*mgmtv1.Project, error) {
	t.Helper()
	var out mgmtv1.Project
	err := e.client(t, user).Post().Resource(mgmtv1.Resource).Body(p).Do(t.Context()).Into(&out)
	return &out, err
}

func (e *env) get(t *testing.T, user, name string) (*mgmtv1.Project, error) {
	t.Helper()
	var out mgmtv1.Project
	err := e.client(t, user).Get().Resource(mgmtv1.Resource).Name(name).Do(t.Context()).Into(&out)
	return &out, err
}

func (e *env) list(t *testing.T, user string, opts metav1.ListOptions) (*mgmtv1.ProjectList, error) {
	t.Helper()
	var out mgmtv1.ProjectList
	err := e.client(t, user).Get().Resource(mgmtv1.Resource).VersionedParams(&opts, metav1.ParameterCodec).Do(t.Context()).Into(&out)
	return &out, err
}

func newProject(name string, labels map[string]string, members ...mgmtv1.Member) *mgmtv1.Project {
	return &mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: mgmtv1.ProjectSpec{Members: members}}
}

func member(user, role string) mgmtv1.Member {
	return mgmtv1.Member{Kind: "ServiceAccount", Namespace: testNamespace, Name: user, Role: role}
}

// roles maps the names of list's items to the caller's role in each.
func roles(list *mgmtv1.ProjectList) map[string]string {
	out := map[string]string{}
	for _, p := range list.Items {
		out[p.Name] = p.Status.Role
	}
	return out
}

// requireStatus requires err to be a Kubernetes Status error with code and
// reason that names the management resource, and returns its Status.
func requireStatus(t *testing.T, err error, code int32, reason metav1.StatusReason) metav1.Status {
	t.Helper()
	require.Error(t, err)
	var status apierrors.APIStatus
	require.True(t, errors.As(err, &status), "want a Status error, got %T: %v", err, err)
	st := status.Status()
	assert.Equal(t, metav1.StatusFailure, st.Status)
	assert.Equal(t, code, st.Code, st.Message)
	assert.Equal(t, reason, st.Reason, st.Message)
	return st
}

func TestManagementAPI(t *testing.T) {
	clustertest.Require(t, testCluster)
	e := startEnv(t)

	t.Run("discovery lists the group and projects", func(t *testing.T) {
		dc, err := discovery.NewDiscoveryClientForConfig(e.config(alice))
		require.NoError(t, err)
		groups, err := dc.ServerGroups()
		require.NoError(t, err)
		i := slices.IndexFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == mgmtv1.GroupName })
		require.GreaterOrEqual(t, i, 0, "groups: %+v", groups.Groups)
		assert.Equal(t, mgmtv1.SchemeGroupVersion.String(), groups.Groups[i].PreferredVersion.GroupVersion)
		resources, err := dc.ServerResourcesForGroupVersion(mgmtv1.SchemeGroupVersion.String())
		require.NoError(t, err)
		require.Len(t, resources.APIResources, 2, "projects and projects/members")
		r := resources.APIResources[0]
		assert.Equal(t, "projects", r.Name)
		assert.Equal(t, "project", r.SingularName)
		assert.Equal(t, "Project", r.Kind)
		assert.False(t, r.Namespaced)
		assert.ElementsMatch(t, []string{"create", "delete", "get", "list", "patch", "update", "watch"}, []string(r.Verbs))
		members := resources.APIResources[1]
		assert.Equal(t, "projects/members", members.Name)
		assert.Equal(t, "ProjectMembers", members.Kind)
		assert.ElementsMatch(t, []string{"get", "patch", "update"}, []string(members.Verbs))
	})

	t.Run("OpenAPI v3 describes Project", func(t *testing.T) {
		c := e.client(t, alice)
		var index struct {
			Paths map[string]struct {
				ServerRelativeURL string `json:"serverRelativeURL"`
			} `json:"paths"`
		}
		raw, err := c.Get().AbsPath("/openapi/v3").DoRaw(t.Context())
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &index))
		gv, ok := index.Paths["apis/"+mgmtv1.SchemeGroupVersion.String()]
		require.True(t, ok, "paths: %v", index.Paths)
		raw, err = c.Get().RequestURI(gv.ServerRelativeURL).DoRaw(t.Context())
		require.NoError(t, err)
		var doc struct {
			Paths      map[string]json.RawMessage `json:"paths"`
			Components struct {
				Schemas map[string]struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"schemas"`
			} `json:"components"`
		}
		require.NoError(t, json.Unmarshal(raw, &doc))
		assert.Contains(t, doc.Paths, "/apis/management.primus.dev/v1alpha1/projects/{name}")
		project, ok := doc.Components.Schemas[mgmtv1.Project{}.OpenAPIModelName()]
		require.True(t, ok)
		assert.Contains(t, project.Properties, "spec")
		assert.Contains(t, doc.Components.Schemas[mgmtv1.ProjectStatus{}.OpenAPIModelName()].Properties, "role")
	})

	// alice creates two Projects: web (alice admin, bob view) and api
	// (bob edit), which she is no member of.
	web, err := e.create(t, alice, newProject("mgmt-web", map[string]string{"team": "web"}, member(alice, "admin"), member(bob, "view")))
	require.NoError(t, err)
	assert.Equal(t, "admin", web.Status.Role, "the creator's role")
	assert.Equal(t, "mgmt-web", web.Name)
	assert.NotEmpty(t, web.UID)
	api, err := e.create(t, alice, newProject("mgmt-api", nil, member(bob, "edit")))
	require.NoError(t, err)
	assert.Empty(t, api.Status.Role)

	t.Run("create errors are Kubernetes Status errors", func(t *testing.T) {
		_, err := e.create(t, alice, newProject("mgmt-bad", nil, member(bob, "owner")))
		st := requireStatus(t, err, http.StatusUnprocessableEntity, metav1.StatusReasonInvalid)
		require.NotNil(t, st.Details)
		assert.Equal(t, mgmtv1.GroupName, st.Details.Group)
		require.NotEmpty(t, st.Details.Causes)
		assert.Equal(t, "spec.members[0].role", st.Details.Causes[0].Field)

		_, err = e.create(t, alice, newProject("mgmt-web", nil))
		requireStatus(t, err, http.StatusConflict, metav1.StatusReasonAlreadyExists)

		_, err = e.create(t, dave, newProject("mgmt-dave", nil))
		st = requireStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden)
		assert.Contains(t, st.Message, saName(dave))
	})

	t.Run("get", func(t *testing.T) {
		tests := []struct {
			name, user, project string
			wantRole            string
			wantCode            int32 // 0: success
			wantReason          metav1.StatusReason
		}{
			{name: "admin member", user: alice, project: "mgmt-web", wantRole: "admin"},
			{name: "view member", user: bob, project: "mgmt-web", wantRole: "view"},
			{name: "edit member", user: bob, project: "mgmt-api", wantRole: "edit"},
			{name: "cluster-wide reader", user: root, project: "mgmt-web", wantRole: ""},
			{name: "non-member", user: carol, project: "mgmt-web", wantCode: 403, wantReason: metav1.StatusReasonForbidden},
			{name: "non-member, missing project", user: carol, project: "mgmt-nothing", wantCode: 403, wantReason: metav1.StatusReasonForbidden},
			{name: "cluster-wide reader, missing project", user: root, project: "mgmt-nothing", wantCode: 404, wantReason: metav1.StatusReasonNotFound},
			{name: "no management RBAC", user: dave, project: "mgmt-web", wantCode: 403, wantReason: metav1.StatusReasonForbidden},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p, err := e.get(t, tc.user, tc.project)
				if tc.wantCode != 0 {
					st := requireStatus(t, err, tc.wantCode, tc.wantReason)
					require.NotNil(t, st.Details)
					assert.Equal(t, mgmtv1.GroupName, st.Details.Group)
					assert.Equal(t, tc.project, st.Details.Name)
					return
				}
				require.NoError(t, err)
				assert.Equal(t, tc.project, p.Name)
				assert.Equal(t, tc.wantRole, p.Status.Role)
			})
		}
	})

	t.Run("list shows a caller their projects with their role", func(t *testing.T) {
		tests := []struct {
			name string
			user string
			opts metav1.ListOptions
			want map[string]string // project: role
		}{
			{name: "admin of one", user: alice, want: map[string]string{"mgmt-web": "admin"}},
			{name: "member of two", user: bob, want: map[string]string{"mgmt-web": "view", "mgmt-api": "edit"}},
			{name: "member of none", user: carol, want: map[string]string{}},
			{name: "cluster-wide reader sees all", user: root, want: map[string]string{"mgmt-web": "", "mgmt-api": ""}},
			{name: "label selector", user: bob, opts: metav1.ListOptions{LabelSelector: "team=web"}, want: map[string]string{"mgmt-web": "view"}},
			{name: "field selector on the role", user: bob, opts: metav1.ListOptions{FieldSelector: "status.role=edit"}, want: map[string]string{"mgmt-api": "edit"}},
			{name: "field selector on the name", user: root, opts: metav1.ListOptions{FieldSelector: "metadata.name=mgmt-api"}, want: map[string]string{"mgmt-api": ""}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				list, err := e.list(t, tc.user, tc.opts)
				require.NoError(t, err)
				assert.Equal(t, tc.want, roles(list))
				assert.NotEmpty(t, list.ResourceVersion)
			})
		}
		_, err := e.list(t, bob, metav1.ListOptions{FieldSelector: "spec.displayName=x"})
		requireStatus(t, err, http.StatusBadRequest, metav1.StatusReasonBadRequest)
		_, err = e.list(t, dave, metav1.ListOptions{})
		requireStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden)
	})

	t.Run("Table output has kubectl columns", func(t *testing.T) {
		raw, err := e.client(t, bob).Get().Resource(mgmtv1.Resource).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(t.Context())
		require.NoError(t, err)
		var table metav1.Table
		require.NoError(t, json.Unmarshal(raw, &table))
		assert.Equal(t, "Table", table.Kind)
		var columns []string
		for _, c := range table.ColumnDefinitions {
			columns = append(columns, c.Name)
		}
		assert.Equal(t, []string{"Name", "Role", "Phase", "Age", "Namespace", "Display Name"}, columns)
		got := map[any]any{}
		for _, r := range table.Rows {
			require.Len(t, r.Cells, len(columns))
			got[r.Cells[0]] = r.Cells[1]
		}
		assert.Equal(t, map[any]any{"mgmt-web": "view", "mgmt-api": "edit"}, got)
	})

	t.Run("a watch shows a member's creates only", func(t *testing.T) {
		list, err := e.list(t, carol, metav1.ListOptions{})
		require.NoError(t, err)
		w, err := e.client(t, carol).Get().Resource(mgmtv1.Resource).
			VersionedParams(&metav1.ListOptions{Watch: true, ResourceVersion: list.ResourceVersion}, metav1.ParameterCodec).Watch(t.Context())
		require.NoError(t, err)
		t.Cleanup(w.Stop)
		// carol is no member of the first; the watch must skip it and
		// show the second, created after it.
		_, err = e.create(t, alice, newProject("mgmt-hidden", nil, member(alice, "admin")))
		require.NoError(t, err)
		_, err = e.create(t, alice, newProject("mgmt-carol", nil, member(carol, "view")))
		require.NoError(t, err)
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch closed")
			require.Equal(t, watch.Added, ev.Type, "%+v", ev.Object)
			p, ok := ev.Object.(*mgmtv1.Project)
			require.True(t, ok, "%T", ev.Object)
			assert.Equal(t, "mgmt-carol", p.Name)
			assert.Equal(t, "view", p.Status.Role)
		case <-time.After(30 * time.Second):
			t.Fatal("no watch event")
		}
	})

	t.Run("a Table watch, as kubectl get -w asks it, has rows", func(t *testing.T) {
		list, err := e.list(t, carol, metav1.ListOptions{})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		t.Cleanup(cancel)
		stream, err := e.client(t, carol).Get().Resource(mgmtv1.Resource).
			VersionedParams(&metav1.ListOptions{Watch: true, ResourceVersion: list.ResourceVersion}, metav1.ParameterCodec).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Stream(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = stream.Close() })
		_, err = e.create(t, alice, newProject("mgmt-carol-2", nil, member(carol, "edit")))
		require.NoError(t, err)
		var ev struct {
			Type   watch.EventType `json:"type"`
			Object metav1.Table    `json:"object"`
		}
		require.NoError(t, json.NewDecoder(stream).Decode(&ev), "no event before the timeout")
		assert.Equal(t, watch.Added, ev.Type)
		require.Len(t, ev.Object.Rows, 1)
		assert.Equal(t, []any{"mgmt-carol-2", "edit"}, ev.Object.Rows[0].Cells[:2])
	})

	t.Run("update and patch the members", func(t *testing.T) {
		current, err := e.get(t, alice, "mgmt-web")
		require.NoError(t, err)
		current.Spec.DisplayName = "by bob"
		err = e.client(t, bob).Put().Resource(mgmtv1.Resource).Name("mgmt-web").Body(current).Do(t.Context()).Error()
		st := requireStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden)
		assert.Contains(t, st.Message, "has role view in the project, not admin")

		// A merge patch replaces the member list: bob becomes edit, carol view.
		patch := `{"spec":{"displayName":"Web","members":[` +
			`{"kind":"ServiceAccount","namespace":"` + testNamespace + `","name":"alice","role":"admin"},` +
			`{"kind":"ServiceAccount","namespace":"` + testNamespace + `","name":"bob","role":"edit"},` +
			`{"kind":"ServiceAccount","namespace":"` + testNamespace + `","name":"carol","role":"view"}]}}`
		var patched mgmtv1.Project
		require.NoError(t, e.client(t, alice).Patch(types.MergePatchType).Resource(mgmtv1.Resource).Name("mgmt-web").
			Body([]byte(patch)).Do(t.Context()).Into(&patched))
		assert.Equal(t, "admin", patched.Status.Role)
		assert.Equal(t, "Web", patched.Spec.DisplayName)
		for user, role := range map[string]string{bob: "edit", carol: "view"} {
			p, err := e.get(t, user, "mgmt-web")
			require.NoError(t, err, user)
			assert.Equal(t, role, p.Status.Role, user)
		}

		// An update from a stale read conflicts, as on the CRD.
		err = e.client(t, alice).Put().Resource(mgmtv1.Resource).Name("mgmt-web").Body(current).Do(t.Context()).Error()
		requireStatus(t, err, http.StatusConflict, metav1.StatusReasonConflict)
	})

	t.Run("delete", func(t *testing.T) {
		err := e.client(t, bob).Delete().Resource(mgmtv1.Resource).Name("mgmt-web").Do(t.Context()).Error()
		st := requireStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden)
		assert.Contains(t, st.Message, "has role edit in the project, not admin")
		err = e.client(t, carol).Delete().Resource(mgmtv1.Resource).Name("mgmt-web").Do(t.Context()).Error()
		requireStatus(t, err, http.StatusForbidden, metav1.StatusReasonForbidden)

		require.NoError(t, e.client(t, alice).Delete().Resource(mgmtv1.Resource).Name("mgmt-web").Do(t.Context()).Error())
		require.NoError(t, e.client(t, root).Delete().Resource(mgmtv1.Resource).Name("mgmt-api").Do(t.Context()).Error())
		for _, name := range []string{"mgmt-web", "mgmt-api"} {
			_, err = e.get(t, root, name)
			requireStatus(t, err, http.StatusNotFound, metav1.StatusReasonNotFound)
		}
	})
}
