package mgmtapi

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// denyAll is an authorizer that allows nothing cluster-wide: only
// membership lets a caller through.
var denyAll = authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionNoOpinion, "", nil
})

// patchInfo is the generic server's patch as UpdatedObjectInfo: the change
// applied to whatever object is current.
type patchInfo func(old runtime.Object) runtime.Object

func (f patchInfo) Preconditions() *metav1.Preconditions { return nil }

func (f patchInfo) UpdatedObject(_ context.Context, old runtime.Object) (runtime.Object, error) {
	return f(old.DeepCopyObject()), nil
}

// TestUpdatesRetryOnAConcurrentWrite: the controller writes a Project
// between the storage's read and its write (here, on the first write
// attempt, an interceptor stands in for it). A patch of the members and a
// patch of the Project are re-applied to the latest version and succeed,
// keeping the other writer's change; a PUT that carries the version the
// caller read is a conflict, as on any Kubernetes resource.
func TestUpdatesRetryOnAConcurrentWrite(t *testing.T) {
	addBob := func(members []mgmtv1.Member) []mgmtv1.Member {
		return append(members, mgmtv1.Member{Kind: "User", Name: "bob", Role: "view"})
	}
	tests := []struct {
		name       string
		update     func(ctx context.Context, s *projectStorage) error
		wantErr    func(error) bool
		wantWrites int
	}{
		{
			name: "members patch",
			update: func(ctx context.Context, s *projectStorage) error {
				_, _, err := (&membersStorage{projects: s}).Update(ctx, "p", patchInfo(func(old runtime.Object) runtime.Object {
					m := old.(*mgmtv1.ProjectMembers)
					m.Members = addBob(m.Members)
					return m
				}), nil, nil, false, nil)
				return err
			},
			wantWrites: 2,
		},
		{
			name: "project patch",
			update: func(ctx context.Context, s *projectStorage) error {
				_, _, err := s.Update(ctx, "p", patchInfo(func(old runtime.Object) runtime.Object {
					p := old.(*mgmtv1.Project)
					p.Spec.Members = addBob(p.Spec.Members)
					return p
				}), nil, nil, false, nil)
				return err
			},
			wantWrites: 2,
		},
		{
			name: "put with the version read before",
			update: func(ctx context.Context, s *projectStorage) error {
				got, err := s.Get(ctx, "p", &metav1.GetOptions{})
				if err != nil {
					return err
				}
				p := got.(*mgmtv1.Project)
				p.Spec.Members = addBob(p.Spec.Members)
				_, _, err = s.Update(ctx, "p", rest.DefaultUpdatedObjectInfo(p), nil, nil, false, nil)
				return err
			},
			wantErr:    apierrors.IsConflict,
			wantWrites: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scheme := runtime.NewScheme()
			require.NoError(t, primusv1.AddToScheme(scheme))
			stored := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: primusv1.ProjectSpec{
				Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "alice", Role: primusv1.RoleAdmin}},
			}}
			writes := 0
			c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(stored).WithInterceptorFuncs(interceptor.Funcs{
				Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
					writes++
					if writes == 1 {
						// The controller's write lands first.
						var latest primusv1.Project
						require.NoError(t, c.Get(ctx, client.ObjectKey{Name: "p"}, &latest))
						latest.Labels = map[string]string{"controller": "was-here"}
						require.NoError(t, c.Update(ctx, &latest))
					}
					return c.Update(ctx, obj, opts...)
				},
			}).Build()
			s := &projectStorage{projects: c, access: access{authz: denyAll}}
			ctx := request.WithUser(context.Background(), &user.DefaultInfo{Name: "alice"})

			err := tc.update(ctx, s)
			assert.Equal(t, tc.wantWrites, writes, "write attempts")
			var got primusv1.Project
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: "p"}, &got))
			assert.Equal(t, "was-here", got.Labels["controller"], "the other writer's change stays")
			if tc.wantErr != nil {
				assert.True(t, tc.wantErr(err), "got %v", err)
				assert.Len(t, got.Spec.Members, 1, "nothing written")
				return
			}
			require.NoError(t, err)
			require.Len(t, got.Spec.Members, 2)
			assert.Equal(t, "bob", got.Spec.Members[1].Name)
		})
	}
}
