//go:build unix

package podrunner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/primus-dev/primus/internal/hacheck/image"
)

func TestWithMountedPaths(t *testing.T) {
	mounts := map[string]string{"/etc/primus/tls": "/tmp/p/volumes/tls"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "flag=value under the mount",
			args: []string{"--leader-elect=true", "--tls-cert-dir=/etc/primus/tls", "--log-level=info"},
			want: []string{"--leader-elect=true", "--tls-cert-dir=/tmp/p/volumes/tls", "--log-level=info"},
		},
		{
			name: "flag and value apart, a file under the mount",
			args: []string{"--cert", "/etc/primus/tls/tls.crt"},
			want: []string{"--cert", "/tmp/p/volumes/tls/tls.crt"},
		},
		{name: "a path that only shares a prefix", args: []string{"--x=/etc/primus/tlsx"}, want: []string{"--x=/etc/primus/tlsx"}},
		{name: "nothing mounted", args: []string{"--leader-elect"}, want: []string{"--leader-elect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, withMountedPaths(tc.args, mounts))
		})
	}
}

func TestMountedVolumes(t *testing.T) {
	optional := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-abc", Namespace: "platform"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{
			{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "primus-tls"}}},
			{Name: "one", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "primus-tls",
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "bundle/ca.pem"}}}}},
			{Name: "gone", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "absent", Optional: &optional}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "policy", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "primus-audit"}}}},
		}},
	}
	c := &corev1.Container{VolumeMounts: []corev1.VolumeMount{
		{Name: "tls", MountPath: "/etc/primus/tls"}, {Name: "one", MountPath: "/etc/ca"},
		{Name: "gone", MountPath: "/etc/gone"}, {Name: "tmp", MountPath: "/tmp"}, {Name: "policy", MountPath: "/etc/primus/audit"},
	}}
	kube := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-tls", Namespace: "platform"},
		Data:       map[string][]byte{"tls.crt": []byte("CERT"), "tls.key": []byte("KEY"), "ca.crt": []byte("CA")},
	}, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-audit", Namespace: "platform"},
		Data:       map[string]string{"policy.yaml": "POLICY"},
	})
	dir := t.TempDir()
	mounts, err := mountedVolumes(t.Context(), kube, pod, c, dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"/etc/primus/tls":   filepath.Join(dir, "volumes", "tls"),
		"/etc/ca":           filepath.Join(dir, "volumes", "one"),
		"/etc/primus/audit": filepath.Join(dir, "volumes", "policy"),
	}, mounts, "secret and configmap volumes only; a missing optional one is skipped")
	for path, want := range map[string]string{"volumes/tls/tls.crt": "CERT", "volumes/tls/ca.crt": "CA", "volumes/one/bundle/ca.pem": "CA", "volumes/policy/policy.yaml": "POLICY"} {
		got, err := os.ReadFile(filepath.Join(dir, path))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), path)
	}
	assert.NoFileExists(t, filepath.Join(dir, "volumes", "one", "tls.key"), "items select keys")

	pod.Spec.Volumes[2].Secret.Optional = nil
	_, err = mountedVolumes(t.Context(), kube, pod, c, t.TempDir())
	assert.ErrorContains(t, err, "secret volume gone", "a missing Secret keeps the container from starting")
}

func TestContainerEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-abc", Namespace: "platform"},
		Spec:       corev1.PodSpec{NodeName: "kwok-node-1"},
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	c := &corev1.Container{Env: []corev1.EnvVar{
		{Name: "POD_NAME", ValueFrom: field("metadata.name")},
		{Name: "POD_NAMESPACE", ValueFrom: field("metadata.namespace")},
		{Name: "NODE", ValueFrom: field("spec.nodeName")},
		{Name: "HELM_RELEASE_NAME", Value: "primus"},
		{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "token"}}},
		{Name: "LIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
	}}
	assert.Equal(t, []string{"NODE=kwok-node-1", "HELM_RELEASE_NAME=primus"}, containerEnv(pod, c),
		"POD_NAME and POD_NAMESPACE are replicas.Start's; secrets and resources are not resolved")
}

func TestCommandArgs(t *testing.T) {
	assert.Equal(t, []string{"--leader-elect"}, commandArgs(&corev1.Container{Args: []string{"--leader-elect"}}))
	assert.Equal(t, []string{"--a", "--leader-elect"}, commandArgs(&corev1.Container{Command: []string{"/primus", "--a"}, Args: []string{"--leader-elect"}}))
}

// TestBinaryImageID: a Go binary (the test binary itself) is named by the
// digest of the image built from it, under the spec image's repository; a
// wrapper script by nothing.
func TestBinaryImageID(t *testing.T) {
	if testing.Short() {
		t.Skip("assembles an image of the test binary in memory; skipped with -short")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	d, err := image.BinaryDigest(exe)
	require.NoError(t, err)
	got, err := binaryImageID("ghcr.io/primus-dev/primus:0.3.0", exe)
	require.NoError(t, err)
	assert.Equal(t, "ghcr.io/primus-dev/primus@"+d.String(), got)

	script := filepath.Join(t.TempDir(), "primus-broken")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec true\n"), 0o755))
	_, err = binaryImageID("ghcr.io/primus-dev/primus:0.3.0", script)
	assert.Error(t, err)
}
