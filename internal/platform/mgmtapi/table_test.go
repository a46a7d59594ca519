package mgmtapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
)

func TestConvertToTable(t *testing.T) {
	created := metav1.NewTime(time.Now().Add(-2 * time.Hour))
	list := &mgmtv1.ProjectList{ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []mgmtv1.Project{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: created}, Spec: mgmtv1.ProjectSpec{DisplayName: "Web"},
			Status: mgmtv1.ProjectStatus{Role: "admin", Phase: "Ready", Namespace: "project-web"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "new"}},
	}}
	table, err := tableConvertor{}.ConvertToTable(t.Context(), list, nil)
	require.NoError(t, err)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"Name", "Role", "Phase", "Age", "Namespace", "Display Name"}, names)
	assert.Equal(t, "7", table.ResourceVersion)
	require.Len(t, table.Rows, 2)
	assert.Equal(t, []any{"web", "admin", "Ready", "120m", "project-web", "Web"}, table.Rows[0].Cells)
	assert.Equal(t, []any{"new", "<none>", "<none>", "<unknown>", "<none>", ""}, table.Rows[1].Cells)

	_, err = tableConvertor{}.ConvertToTable(t.Context(), &metav1.Status{}, nil)
	assert.Error(t, err)
}
