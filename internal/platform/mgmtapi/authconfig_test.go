package mgmtapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestWaitAuthConfig: a replica whose RBAC is not in effect yet waits
// until it may read the authentication ConfigMap; one that is never
// allowed fails, naming the ConfigMap and the Role to bind.
func TestWaitAuthConfig(t *testing.T) {
	tests := []struct {
		name      string
		forbidden int32         // requests answered 403 before the ConfigMap is served
		timeout   time.Duration // how long waitAuthConfig may wait
		wantErr   []string
	}{
		// The cases that succeed return as soon as the read is allowed;
		// their long timeouts only leave room for a loaded machine.
		{name: "readable at once", forbidden: 0, timeout: 30 * time.Second},
		{name: "RBAC takes effect after two tries", forbidden: 2, timeout: 30 * time.Second},
		{name: "never readable", forbidden: 1 << 30, timeout: 1500 * time.Millisecond, wantErr: []string{
			"kube-system/extension-apiserver-authentication", "front-proxy headers", "extension-apiserver-authentication-reader",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path != "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication" {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				if calls.Add(1) <= tc.forbidden {
					status := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, authConfigName, nil).ErrStatus
					status.APIVersion, status.Kind = "v1", "Status"
					w.WriteHeader(http.StatusForbidden)
					_ = json.NewEncoder(w).Encode(status)
					return
				}
				_ = json.NewEncoder(w).Encode(&corev1.ConfigMap{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
					ObjectMeta: metav1.ObjectMeta{Name: authConfigName, Namespace: authConfigNamespace},
					Data:       map[string]string{"client-ca-file": "PEM"},
				})
			}))
			defer srv.Close()
			kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
			require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: `+srv.URL+`}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))

			keys, err := waitAuthConfig(kubeconfig, tc.timeout, slog.New(slog.DiscardHandler))
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tc.forbidden+1, calls.Load(), "asked until allowed")
				assert.Equal(t, authKeys{clientCA: true}, keys, "the CAs the ConfigMap holds")
				return
			}
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}
