//go:build unix

package podrunner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// volumeSource is what mountedVolumes needs of a Secret or ConfigMap
// volume: where its files come from.
type volumeSource struct {
	kind     string // "secret" or "configmap", for errors
	name     string
	items    []corev1.KeyToPath
	optional bool
}

// sourceOf returns the source of a Secret or ConfigMap volume, or false
// for other volumes (emptyDir needs nothing: the process has its own
// temporary directory).
func sourceOf(v corev1.Volume) (volumeSource, bool) {
	switch {
	case v.Secret != nil:
		return volumeSource{"secret", v.Secret.SecretName, v.Secret.Items, v.Secret.Optional != nil && *v.Secret.Optional}, true
	case v.ConfigMap != nil:
		return volumeSource{"configmap", v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional != nil && *v.ConfigMap.Optional}, true
	}
	return volumeSource{}, false
}

// mountedVolumes writes each Secret and ConfigMap volume container c of
// pod mounts into dir/volumes/<volume>, one file per key (or per item, when
// the volume lists items), as the kubelet would, and returns the
// container's mount paths mapped to those directories. A missing Secret or
// ConfigMap is an error, as it keeps the kubelet from starting the
// container; an optional one is skipped.
func mountedVolumes(ctx context.Context, kube kubernetes.Interface, pod *corev1.Pod, c *corev1.Container, dir string) (map[string]string, error) {
	sources := map[string]volumeSource{}
	for _, v := range pod.Spec.Volumes {
		if src, ok := sourceOf(v); ok {
			sources[v.Name] = src
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		src, ok := sources[m.Name]
		if !ok {
			continue
		}
		data, err := volumeData(ctx, kube, pod.Namespace, src)
		if err != nil {
			if src.optional {
				continue
			}
			return nil, fmt.Errorf("pod %s: %s volume %s: %w", pod.Name, src.kind, m.Name, err)
		}
		local := filepath.Join(dir, "volumes", m.Name)
		if err := writeVolumeFiles(data, src, local); err != nil {
			return nil, fmt.Errorf("pod %s: %s volume %s: %w", pod.Name, src.kind, m.Name, err)
		}
		mounts[m.MountPath] = local
	}
	return mounts, nil
}

// volumeData reads the keys of the Secret or ConfigMap src names.
func volumeData(ctx context.Context, kube kubernetes.Interface, namespace string, src volumeSource) (map[string][]byte, error) {
	if src.kind == "secret" {
		s, err := kube.CoreV1().Secrets(namespace).Get(ctx, src.name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	cm, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, src.name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

// writeVolumeFiles writes data's keys (or src's items) into dir.
func writeVolumeFiles(data map[string][]byte, src volumeSource, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := map[string][]byte{}
	if len(src.items) == 0 {
		for k, v := range data {
			files[k] = v
		}
	}
	for _, it := range src.items {
		v, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("%s %s has no key %q", src.kind, src.name, it.Key)
		}
		files[it.Path] = v
	}
	for name, content := range files {
		if strings.Contains(name, "..") {
			return fmt.Errorf("%s %s: path %q leaves the volume", src.kind, src.name, name)
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// withMountedPaths rewrites every argument that names a path under one of
// mounts' container paths to the same path under the local directory, so
// a flag such as --tls-cert-dir=/etc/primus/tls reads the volume's files.
func withMountedPaths(args []string, mounts map[string]string) []string {
	out := make([]string, len(args))
	for i, arg := range args {
		out[i] = arg
		prefix, value := "", arg
		if name, v, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(name, "-") {
			prefix, value = name+"=", v
		}
		for container, local := range mounts {
			if value == container || strings.HasPrefix(value, strings.TrimSuffix(container, "/")+"/") {
				out[i] = prefix + local + strings.TrimPrefix(value, container)
				break
			}
		}
	}
	return out
}
