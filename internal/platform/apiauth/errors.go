package apiauth

import (
	"context"
	"errors"
	"net"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// ReviewFailed reports whether err, from Authenticator.AuthenticateRequest,
// says that the token could not be checked (the TokenReview request failed:
// the API server answered with an error status, could not be reached, or
// timed out) rather than that the API server rejected the token. The
// first is the server's problem (500), the second the caller's (401).
//
// The delegating authenticator returns both kinds as errors, aggregated
// over its request authenticators: a rejected token comes back as the
// TokenReview's status.error or "invalid bearer token", plain strings; a
// failed request as the client's own error types, which this looks for.
func ReviewFailed(err error) bool {
	if err == nil {
		return false
	}
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		for _, e := range agg.Errors() {
			if ReviewFailed(e) {
				return true
			}
		}
		return false
	}
	var status apierrors.APIStatus
	var netErr net.Error
	return errors.As(err, &status) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
