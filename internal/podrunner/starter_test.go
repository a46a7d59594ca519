//go:build unix

package podrunner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWithoutFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "the chart's arguments with a TLS secret",
			args: []string{"--leader-elect=true", "--lease-duration=4s", "--tls-cert-dir=/etc/primus/tls", "--log-level=info"},
			want: []string{"--leader-elect=true", "--lease-duration=4s", "--log-level=info"},
		},
		{
			name: "flag and value apart",
			args: []string{"--tls-cert-dir", "/etc/primus/tls", "--leader-elect"},
			want: []string{"--leader-elect"},
		},
		{name: "nothing to drop", args: []string{"--leader-elect"}, want: []string{"--leader-elect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, withoutFlags(tc.args, droppedFlags...))
		})
	}
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
