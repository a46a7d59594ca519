package mgmtapi

import (
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// translate turns an error of the primus.dev client into one that names
// the management resource, so a caller sees management.primus.dev in
// every message. Errors that do not name the resource pass unchanged; an
// error that is not a Kubernetes Status becomes an internal error.
func translate(err error, name string) error {
	if err == nil {
		return nil
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return apierrors.NewInternalError(err)
	}
	switch st := status.Status(); st.Reason {
	case metav1.StatusReasonNotFound:
		return apierrors.NewNotFound(projectsResource, name)
	case metav1.StatusReasonAlreadyExists:
		return apierrors.NewAlreadyExists(projectsResource, name)
	case metav1.StatusReasonConflict:
		return apierrors.NewConflict(projectsResource, name, errors.New(st.Message))
	}
	return err
}
