package verify

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// CheckImageDigest is the id of the check that the release's Ready
// replicas run one image digest, and the one their spec pins if it pins
// one.
const CheckImageDigest = "image-digest"

// DigestUnknown is Pod.Digest when the container status names no digest
// (Pod.DigestReason says why).
const DigestUnknown = "unknown"

// digestPattern is an OCI content digest as registries use them.
var digestPattern = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)

// ImageDigest returns the registry digest (sha256:...) in a container
// status's imageID, which the runtime writes as REPOSITORY@DIGEST, with a
// scheme in front for some (docker-pullable://, docker://). An imageID
// without a REPOSITORY@DIGEST is an error saying why it names no digest:
// empty (nothing reported one), or the runtime's local image ID (the image
// config's digest, which containerd and CRI-O report for an image loaded
// into the node and docker:// for one it did not pull by a registry
// reference): a different hash from the manifest digest a registry and
// a pinned image name use, so it is never taken for one.
func ImageDigest(imageID string) (string, error) {
	if imageID == "" {
		return "", errors.New("the container status has no imageID (nothing has reported what the container runs)")
	}
	ref := imageID
	if _, rest, ok := strings.Cut(ref, "://"); ok {
		ref = rest
	}
	at := strings.LastIndex(ref, "@")
	if at < 0 {
		if digestPattern.MatchString(ref) {
			return "", fmt.Errorf("imageID %s is the runtime's local image ID (the image config's digest), not a registry manifest digest: the node recorded no REPOSITORY@DIGEST it pulled", imageID)
		}
		return "", fmt.Errorf("imageID %q names no digest (want REPOSITORY@sha256:...)", imageID)
	}
	d := ref[at+1:]
	if !digestPattern.MatchString(d) {
		return "", fmt.Errorf("imageID %q: %q is not a sha256 digest", imageID, d)
	}
	return d, nil
}

// PinnedDigest returns the digest an image reference pins
// (REPOSITORY[:TAG]@sha256:...), or "" for one that names a tag only.
func PinnedDigest(image string) string {
	_, d, ok := strings.Cut(image, "@")
	if !ok || !digestPattern.MatchString(d) {
		return ""
	}
	return d
}

// workloadContainer is the container verify reports the image of: the one
// named primus (as the podrunner runs it), else the first.
func workloadContainer(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.Name == "primus" {
			return c.Name
		}
	}
	if len(p.Spec.Containers) > 0 {
		return p.Spec.Containers[0].Name
	}
	return ""
}

// podImage fills pod's Image, ImageID, Digest and DigestReason from p's
// workload container: the image its spec names and the digest its status
// says it runs.
func podImage(pod *Pod, p *corev1.Pod) {
	name := workloadContainer(p)
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			pod.Image = c.Image
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			pod.ImageID = cs.ImageID
		}
	}
	d, err := ImageDigest(pod.ImageID)
	if err != nil {
		pod.Digest, pod.DigestReason = DigestUnknown, err.Error()
		return
	}
	pod.Digest = d
}

// checkImageDigest fails when the Running and Ready replicas run more than
// one digest (a rollout stuck half way, or replicas of two builds), or one
// runs another digest than its spec pins. Replicas whose digest is unknown
// are named but judged by nothing: an unknown digest is never guessed.
// With localBuild (the embedded cluster's podrunner runs a local build, not
// the image the spec names) a pinned digest is reported, not compared.
func checkImageDigest(r *Report, localBuild bool) Check {
	ready := running(r.Pods)
	c := Check{ID: CheckImageDigest, Passed: true}
	if len(ready) == 0 {
		c.Message = "no Running and Ready replica to ask"
		return c
	}
	byDigest := map[string][]string{}
	var digests, unknown, mismatch []string
	pinned := map[string]bool{}
	for _, p := range ready {
		if p.Digest == DigestUnknown || p.Digest == "" {
			unknown = append(unknown, fmt.Sprintf("%s (%s)", p.Name, p.DigestReason))
			continue
		}
		if _, ok := byDigest[p.Digest]; !ok {
			digests = append(digests, p.Digest)
		}
		byDigest[p.Digest] = append(byDigest[p.Digest], p.Name)
		if pin := PinnedDigest(p.Image); pin != "" {
			pinned[pin] = true
			if pin != p.Digest && !localBuild {
				mismatch = append(mismatch, fmt.Sprintf("%s runs %s but its spec pins %s", p.Name, p.Digest, pin))
			}
		}
	}
	slices.Sort(digests)
	var parts []string
	switch {
	case len(digests) > 1:
		c.Passed = false
		var each []string
		for _, d := range digests {
			each = append(each, fmt.Sprintf("%s (%s)", d, strings.Join(byDigest[d], ", ")))
		}
		parts = append(parts, fmt.Sprintf("%d Ready replicas run %d digests, a rollout stuck or mixed: %s", len(ready)-len(unknown), len(digests), strings.Join(each, ", ")))
	case len(digests) == 1:
		one := fmt.Sprintf("%d/%d Ready replicas run %s", len(byDigest[digests[0]]), len(ready), digests[0])
		if len(mismatch) == 0 && len(pinned) > 0 && !localBuild {
			one += ", the digest their spec pins"
		}
		parts = append(parts, one)
	default:
		parts = append(parts, "no Ready replica reports its digest, so none is compared: "+strings.Join(unknown, "; "))
		unknown = nil
	}
	if len(mismatch) > 0 {
		c.Passed = false
		parts = append(parts, strings.Join(mismatch, "; "))
	}
	if localBuild && len(pinned) > 0 && len(digests) > 0 {
		parts = append(parts, fmt.Sprintf("the spec pins %s, which nothing pulls here: the Pods run the local cmd/primus build, named by the digest of its image",
			strings.Join(slices.Sorted(maps.Keys(pinned)), ", ")))
	}
	if len(unknown) > 0 {
		parts = append(parts, "digest unknown for "+strings.Join(unknown, "; "))
	}
	c.Message = strings.Join(parts, "; ")
	return c
}
