package mgmtapi

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
)

// tableColumns are kubectl's columns for projects; priority 1 columns show
// with -o wide.
var tableColumns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the project."},
	{Name: "Role", Type: "string", Description: "The caller's role in the project: admin, edit or view; <none> for a caller who sees every project."},
	{Name: "Phase", Type: "string", Description: "Pending, Ready, Failed or Terminating."},
	{Name: "Age", Type: "string", Description: "Time since the project was created."},
	{Name: "Namespace", Type: "string", Priority: 1, Description: "The project namespace."},
	{Name: "Display Name", Type: "string", Priority: 1, Description: "Human-readable name."},
}

// tableConvertor renders Projects as the Table kubectl prints.
type tableConvertor struct{}

// ConvertToTable renders a Project or a ProjectList.
func (tableConvertor) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	table := &metav1.Table{ColumnDefinitions: tableColumns}
	switch o := obj.(type) {
	case *mgmtv1.Project:
		table.Rows = []metav1.TableRow{row(o)}
		table.ResourceVersion = o.ResourceVersion
	case *mgmtv1.ProjectList:
		for i := range o.Items {
			table.Rows = append(table.Rows, row(&o.Items[i]))
		}
		table.ResourceVersion, table.Continue, table.RemainingItemCount = o.ResourceVersion, o.Continue, o.RemainingItemCount
	default:
		if _, err := meta.ListAccessor(obj); err == nil {
			return nil, fmt.Errorf("table of %T: not a ProjectList", obj)
		}
		return nil, fmt.Errorf("table of %T: not a Project", obj)
	}
	return table, nil
}

func row(p *mgmtv1.Project) metav1.TableRow {
	return metav1.TableRow{
		Cells:  []any{p.Name, orNone(p.Status.Role), orNone(p.Status.Phase), age(p.CreationTimestamp), orNone(p.Status.Namespace), p.Spec.DisplayName},
		Object: runtime.RawExtension{Object: p},
	}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// age is kubectl's AGE: a short duration since t.
func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}
