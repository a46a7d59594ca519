package apiauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/primus-dev/primus/internal/platform/apiauth"
)

func TestReviewFailed(t *testing.T) {
	tokenreviews := schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}
	refused := &url.Error{Op: "Post", URL: "https://10.0.0.1/apis/authentication.k8s.io/v1/tokenreviews", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "no error", err: nil, want: false},
		{name: "rejected token", err: utilerrors.NewAggregate([]error{errors.New("[invalid bearer token, square/go-jose: error in cryptographic primitive]")}), want: false},
		{name: "no valid authenticator", err: utilerrors.NewAggregate([]error{errors.New("invalid bearer token"), errors.New("invalid bearer token")}), want: false},
		{name: "forbidden to review", err: utilerrors.NewAggregate([]error{apierrors.NewForbidden(tokenreviews, "", errors.New("no"))}), want: true},
		{name: "server error", err: apierrors.NewInternalError(errors.New("etcd")), want: true},
		{name: "too many requests", err: utilerrors.NewAggregate([]error{apierrors.NewTooManyRequests("slow down", 1)}), want: true},
		{name: "connection refused", err: utilerrors.NewAggregate([]error{refused}), want: true},
		{name: "timeout", err: fmt.Errorf("review: %w", context.DeadlineExceeded), want: true},
		{name: "nested aggregate", err: utilerrors.NewAggregate([]error{errors.New("invalid bearer token"), utilerrors.NewAggregate([]error{refused})}), want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, apiauth.ReviewFailed(tc.err))
		})
	}
}
