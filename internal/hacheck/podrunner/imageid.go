package podrunner

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/primus-dev/primus/internal/hacheck/image"
)

// ImageIdentifier is a Process that knows which image it runs, as a
// container runtime does (ReplicaProcess is one). The Runner writes
// ImageID into the container's status as the kubelet writes the runtime's
// image reference; a Process without it gets no imageID.
type ImageIdentifier interface {
	// ImageID is the container status's imageID,
	// REPOSITORY@sha256:DIGEST. An error says why there is none; the
	// Runner logs it and leaves imageID empty.
	ImageID() (string, error)
}

// imageIDOf returns p's imageID, or "" with the reason there is none.
func imageIDOf(p Process) (string, error) {
	id, ok := p.(ImageIdentifier)
	if !ok {
		return "", nil
	}
	return id.ImageID()
}

// binaryImageID is the imageID of a container whose spec names image and
// that runs the Go binary at path: the repository of image (its tag or
// digest dropped), "@", and the digest of the single-platform image that
// internal/hacheck/image builds from that very binary (image.BinaryDigest:
// computed in memory once per binary, never pushed). It is not the digest
// of the image the spec names, which nothing pulled: the embedded cluster
// runs the local build, and this says which.
func binaryImageID(imageRef, path string) (string, error) {
	d, err := image.BinaryDigest(path)
	if err != nil {
		return "", err
	}
	return imageRepository(imageRef) + "@" + d.String(), nil
}

// imageRepository is ref without its digest and tag:
// "ghcr.io/primus-dev/primus:0.3.0" and "ghcr.io/primus-dev/primus@sha256:..."
// give "ghcr.io/primus-dev/primus"; a registry port stays.
func imageRepository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// writeImageID adds the imageID of e's process to the container status
// kwok wrote, on a cluster where kwok owns Pod status (no
// Options.SetPodStatus): kwok runs no image, so only the Runner knows what
// runs. It writes once per imageID, with the Pod's resourceVersion as a
// precondition (kwok's fields are kept, not overwritten); a failed write is
// retried at the next probe.
func (r *Runner) writeImageID(e *entry, s containerState) {
	if s.imageID == "" {
		return
	}
	r.mu.Lock()
	pod, written := e.pod, e.writtenImageID
	r.mu.Unlock()
	if written == s.imageID {
		return
	}
	body, err := imageIDPatch(pod, s.imageID)
	if err != nil {
		return // kwok has not written the container status yet
	}
	if !r.patchPodStatus(e, pod, body, "container imageID") {
		return
	}
	r.mu.Lock()
	e.writtenImageID = s.imageID
	r.mu.Unlock()
	r.log.Info("container imageID written", "pod", e.name, "imageID", s.imageID)
}

// imageIDPatch is the status patch that sets the imageID of pod's container
// in the container statuses pod has (a list the API replaces whole).
func imageIDPatch(pod *corev1.Pod, imageID string) ([]byte, error) {
	c := Container(pod)
	if c == nil {
		return nil, fmt.Errorf("pod %s has no container", pod.Name)
	}
	statuses := slices.Clone(pod.Status.ContainerStatuses)
	i := slices.IndexFunc(statuses, func(cs corev1.ContainerStatus) bool { return cs.Name == c.Name })
	if i < 0 {
		return nil, fmt.Errorf("pod %s has no status for container %s", pod.Name, c.Name)
	}
	statuses[i].ImageID = imageID
	if statuses[i].Image == "" {
		statuses[i].Image = c.Image
	}
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": pod.ResourceVersion},
		"status":   map[string]any{"containerStatuses": statuses},
	})
}
