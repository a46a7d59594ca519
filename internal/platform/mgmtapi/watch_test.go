package mgmtapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

func project(name string, members ...primusv1.Member) *primusv1.Project {
	return &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: primusv1.ProjectSpec{Members: members}}
}

func TestFilteredWatch(t *testing.T) {
	alice := primusv1.Member{Kind: primusv1.MemberUser, Name: "alice", Role: primusv1.RoleEdit}
	bob := primusv1.Member{Kind: primusv1.MemberUser, Name: "bob", Role: primusv1.RoleView}
	type want struct {
		typ  watch.EventType
		name string
		role string
	}
	tests := []struct {
		name   string
		all    bool
		events []watch.Event
		want   []want
	}{
		{
			name: "a member sees their projects only",
			events: []watch.Event{
				{Type: watch.Added, Object: project("bobs", bob)},
				{Type: watch.Added, Object: project("alices", alice)},
				{Type: watch.Deleted, Object: project("bobs", bob)},
			},
			want: []want{{watch.Added, "alices", "edit"}},
		},
		{
			name: "losing membership is a deletion, gaining it an event",
			events: []watch.Event{
				{Type: watch.Added, Object: project("web", alice)},
				{Type: watch.Modified, Object: project("web", bob)},
				{Type: watch.Modified, Object: project("web", bob, alice)},
				{Type: watch.Deleted, Object: project("web", bob, alice)},
			},
			want: []want{{watch.Added, "web", "edit"}, {watch.Deleted, "web", ""}, {watch.Modified, "web", "edit"}, {watch.Deleted, "web", "edit"}},
		},
		{
			name:   "a caller who may see all sees every project",
			all:    true,
			events: []watch.Event{{Type: watch.Added, Object: project("bobs", bob)}},
			want:   []want{{watch.Added, "bobs", ""}},
		},
		{
			name:   "bookmarks pass",
			events: []watch.Event{{Type: watch.Bookmark, Object: &primusv1.Project{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "42"}}}},
			want:   []want{{watch.Bookmark, "", ""}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			upstream := watch.NewFakeWithChanSize(len(tc.events), false)
			for _, ev := range tc.events {
				upstream.Action(ev.Type, ev.Object)
			}
			upstream.Stop() // closes the channel after the buffered events
			w := newFilteredWatch(upstream, newFilter(&user.DefaultInfo{Name: "alice"}, tc.all, nil))
			t.Cleanup(w.Stop)
			var got []want
			timeout := time.After(10 * time.Second)
		loop:
			for {
				select {
				case ev, ok := <-w.ResultChan():
					if !ok {
						break loop
					}
					p, isProject := ev.Object.(*mgmtv1.Project)
					require.True(t, isProject, "%T", ev.Object)
					got = append(got, want{ev.Type, p.Name, p.Status.Role})
				case <-timeout:
					t.Fatal("the watch did not end")
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
