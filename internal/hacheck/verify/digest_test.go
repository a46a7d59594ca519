package verify

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Digests of the tests: two builds.
var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

func TestImageDigest(t *testing.T) {
	cases := []struct {
		name    string
		imageID string
		want    string
		wantErr string
	}{
		{name: "containerd and CRI-O: REPOSITORY@DIGEST", imageID: "ghcr.io/primus-dev/primus@" + digestA, want: digestA},
		{name: "docker through cri-dockerd: a pulled image", imageID: "docker-pullable://ghcr.io/primus-dev/primus@" + digestA, want: digestA},
		{name: "a registry with a port", imageID: "localhost:5000/primus@" + digestB, want: digestB},
		{name: "sha512", imageID: "r.example/p@sha512:" + strings.Repeat("c", 128), want: "sha512:" + strings.Repeat("c", 128)},
		{name: "nothing reported", imageID: "", wantErr: "has no imageID"},
		{name: "containerd: an image loaded into the node", imageID: digestA, wantErr: "local image ID"},
		{name: "docker: an image it did not pull", imageID: "docker://" + digestA, wantErr: "local image ID"},
		{name: "a tag, no digest", imageID: "ghcr.io/primus-dev/primus:0.3.0", wantErr: "names no digest"},
		{name: "a short digest", imageID: "ghcr.io/primus-dev/primus@sha256:abc", wantErr: "is not a sha256 digest"},
		{name: "upper-case hex is no OCI digest", imageID: "ghcr.io/p@sha256:" + strings.Repeat("A", 64), wantErr: "is not a sha256 digest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ImageDigest(tc.imageID)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.Empty(t, got, "an unknown digest is never guessed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPinnedDigest(t *testing.T) {
	assert.Equal(t, digestA, PinnedDigest("ghcr.io/primus-dev/primus@"+digestA))
	assert.Equal(t, digestA, PinnedDigest("ghcr.io/primus-dev/primus:0.3.0@"+digestA))
	assert.Empty(t, PinnedDigest("ghcr.io/primus-dev/primus:0.3.0"))
	assert.Empty(t, PinnedDigest("localhost:5000/primus"))
}

func TestPodImage(t *testing.T) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-a"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "proxy", Image: "envoy:1"}, {Name: "primus", Image: "ghcr.io/primus-dev/primus:0.3.0"},
		}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "proxy", ImageID: "docker.io/library/envoy@" + digestB},
			{Name: "primus", ImageID: "ghcr.io/primus-dev/primus@" + digestA},
		}},
	}
	var pod Pod
	podImage(&pod, p)
	assert.Equal(t, Pod{Image: "ghcr.io/primus-dev/primus:0.3.0", ImageID: "ghcr.io/primus-dev/primus@" + digestA, Digest: digestA}, pod,
		"the primus container, not the first")

	p.Status.ContainerStatuses = nil
	pod = Pod{}
	podImage(&pod, p)
	assert.Equal(t, DigestUnknown, pod.Digest)
	assert.Contains(t, pod.DigestReason, "has no imageID")
}

// replica is a Running, Ready Pod that spec-names image and runs digest.
func replica(name, image, digest string) Pod {
	p := Pod{Name: name, Phase: "Running", Ready: true, Image: image, Digest: digest}
	if digest == DigestUnknown {
		p.DigestReason = "the container status has no imageID"
	}
	return p
}

func TestCheckImageDigest(t *testing.T) {
	const tag = "ghcr.io/primus-dev/primus:0.3.0"
	pinA := "ghcr.io/primus-dev/primus@" + digestA
	notReady := replica("p9", tag, digestB)
	notReady.Ready = false
	cases := []struct {
		name       string
		pods       []Pod
		localBuild bool
		passed     bool
		want       []string // substrings of the message
	}{
		{name: "one digest: ok, and named", passed: true,
			pods: []Pod{replica("p0", tag, digestA), replica("p1", tag, digestA), replica("p2", tag, digestA)},
			want: []string{"3/3 Ready replicas run " + digestA}},
		{name: "a replica not Ready yet does not count", passed: true,
			pods: []Pod{replica("p0", tag, digestA), replica("p1", tag, digestA), notReady},
			want: []string{"2/2 Ready replicas run " + digestA}},
		{name: "mixed digests: a stuck or mixed rollout", passed: false,
			pods: []Pod{replica("p0", tag, digestA), replica("p1", tag, digestB), replica("p2", tag, digestA)},
			want: []string{"3 Ready replicas run 2 digests", digestA + " (p0, p2)", digestB + " (p1)", "stuck or mixed"}},
		{name: "unknown digests are named, never guessed", passed: true,
			pods: []Pod{replica("p0", tag, DigestUnknown), replica("p1", tag, DigestUnknown)},
			want: []string{"no Ready replica reports its digest", "p0 (the container status has no imageID)"}},
		{name: "one known digest beside an unknown one", passed: true,
			pods: []Pod{replica("p0", tag, digestA), replica("p1", tag, DigestUnknown)},
			want: []string{"1/2 Ready replicas run " + digestA, "digest unknown for p1"}},
		{name: "the pinned digest runs", passed: true,
			pods: []Pod{replica("p0", pinA, digestA), replica("p1", pinA, digestA)},
			want: []string{"2/2 Ready replicas run " + digestA + ", the digest their spec pins"}},
		{name: "a pinned digest that does not run", passed: false,
			pods: []Pod{replica("p0", pinA, digestB), replica("p1", pinA, digestB)},
			want: []string{"p0 runs " + digestB + " but its spec pins " + digestA, "p1 runs"}},
		{name: "a local build does not pull the pinned digest: reported, not compared", localBuild: true, passed: true,
			pods: []Pod{replica("p0", pinA, digestB), replica("p1", pinA, digestB)},
			want: []string{"2/2 Ready replicas run " + digestB, "the spec pins " + digestA + ", which nothing pulls here"}},
		{name: "no Ready replica", passed: true, pods: []Pod{notReady}, want: []string{"no Running and Ready replica"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := checkImageDigest(&Report{Pods: tc.pods}, tc.localBuild)
			assert.Equal(t, CheckImageDigest, c.ID)
			assert.Equal(t, tc.passed, c.Passed, c.Message)
			for _, w := range tc.want {
				assert.Contains(t, c.Message, w)
			}
		})
	}
}
