package mgmtapi

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/request"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// TestApplyToAMissingProject drives Update as the generic server does for
// a server-side apply (forceAllowCreate), with the Project missing: it is
// created with the create authorization the patch handler passes; a caller
// refused that is answered as a non-member of an existing Project; a name
// other than the URL's is a bad request; a dry run stores nothing; a
// Project another writer created meanwhile is updated instead; the
// reserved managers annotation is refused.
func TestApplyToAMissingProject(t *testing.T) {
	alice := func(p *mgmtv1.Project) *mgmtv1.Project {
		p.Spec.Members = []mgmtv1.Member{{Kind: "User", Name: "alice", Role: "admin"}}
		return p
	}
	mayCreate := func(context.Context, runtime.Object) error { return nil }
	mayNotCreate := func(context.Context, runtime.Object) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: mgmtv1.GroupName, Resource: "projects"}, "p", nil)
	}
	tests := []struct {
		name        string
		applied     *mgmtv1.Project
		validate    func(context.Context, runtime.Object) error
		dryRun      bool
		raceCreate  bool // another writer creates p between the read and the create
		wantCreated bool
		wantErr     func(error) bool
		wantStored  bool
	}{
		{name: "created", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p"}}), validate: mayCreate, wantCreated: true, wantStored: true},
		{name: "may not create", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p"}}), validate: mayNotCreate,
			wantErr: func(err error) bool {
				return apierrors.IsForbidden(err) && assert.Contains(t, err.Error(), "is not a member")
			}},
		{name: "another name", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "q"}}), validate: mayCreate, wantErr: apierrors.IsBadRequest},
		{name: "dry run", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p"}}), validate: mayCreate, dryRun: true, wantCreated: true},
		{name: "created meanwhile", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p"}}), validate: mayCreate, raceCreate: true, wantStored: true},
		{name: "reserved annotation", applied: alice(&mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p",
			Annotations: map[string]string{ManagedFieldsAnnotation: "[]"}}}), validate: mayCreate, wantErr: apierrors.IsInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			require.NoError(t, primusv1.AddToScheme(scheme))
			raced := false
			c := fake.NewClientBuilder().WithScheme(scheme).WithInterceptorFuncs(interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					if tc.raceCreate && !raced {
						raced = true
						other := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"by": "other"}},
							Spec: primusv1.ProjectSpec{Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "alice", Role: primusv1.RoleAdmin}}}}
						require.NoError(t, c.Create(ctx, other))
					}
					return c.Create(ctx, obj, opts...)
				},
			}).Build()
			s := &projectStorage{projects: c, access: access{authz: denyAll}}
			ctx := request.WithUser(context.Background(), &user.DefaultInfo{Name: "alice"})
			opts := &metav1.UpdateOptions{}
			if tc.dryRun {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			apply := patchInfo(func(old runtime.Object) runtime.Object {
				in := tc.applied.DeepCopy()
				if cur := old.(*mgmtv1.Project); cur.UID != "" || cur.ResourceVersion != "" {
					in.Labels = cur.Labels // applied onto the existing Project
				}
				return in
			})

			obj, created, err := s.Update(ctx, "p", apply, tc.validate, nil, true, opts)
			var stored primusv1.Project
			getErr := c.Get(ctx, client.ObjectKey{Name: "p"}, &stored)
			assert.Equal(t, tc.wantStored, getErr == nil, "stored: %v", getErr)
			if tc.wantErr != nil {
				assert.True(t, tc.wantErr(err), "got %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantCreated, created)
			assert.Equal(t, "p", obj.(*mgmtv1.Project).Name)
			if tc.raceCreate {
				assert.Equal(t, "other", stored.Labels["by"], "the apply updated the Project the other writer made")
			}
		})
	}
}
