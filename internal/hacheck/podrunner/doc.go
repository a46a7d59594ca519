// Package podrunner is a kubelet stand-in for the embedded cluster: it runs
// the real Primus binary for the Pods of a release, so drains, rollouts and
// scale-downs driven by the real scheduler, ReplicaSet and disruption
// controllers move real leadership between real processes.
//
// kwok marks a scheduled Pod Running and Ready without running anything.
// A Runner watches the release's Pods in one namespace and, for each Running
// Pod, starts one local process through a Starter; the default,
// ReplicaStarter, runs cmd/primus with internal/replicas (POD_NAME and
// POD_NAMESPACE of the Pod, the container's arguments, a token for the
// Pod's ServiceAccount, free 127.0.0.1 ports). When the Pod gets a deletion
// timestamp or disappears (eviction, scale-down, rollout), the Runner stops
// the process as the kubelet stops a container: the preStop sleep, SIGTERM,
// then SIGKILL when the termination grace period runs out. A process that
// exits while its Pod lives is restarted (restartPolicy: Always).
//
// It also watches the leader Lease and keeps a timestamped log of its
// holders, and asks the processes whether they lead, so suites can count
// leadership moves.
//
// With Options.SetPodStatus (on a cluster started with
// cluster.ReadyByRunner, where kwok leaves Pods Running but not Ready) it
// writes each Pod's Ready condition and container status from its process
// as the kubelet's status manager does: Ready follows /readyz, an exit
// makes the Pod unready and counts a restart; and, like the kubelet, it
// keeps a deleted Pod (Terminating, by its Finalizer) until the Pod's
// process has exited, so the Pod's IP is not handed to a new Pod while the
// old process still serves at it. Otherwise kwok owns Pod status and the
// readiness probe changes nothing.
//
// Either way it fills each container status's image and imageID, as the
// kubelet does from the container runtime (without SetPodStatus, only
// imageID is added to what kwok wrote). A process runs a local binary, not
// a pulled image, so imageID is the honest equivalent: the repository of
// the container's image, "@", and the digest of the single-platform
// (GOOS/GOARCH of the binary) image manifest that internal/hacheck/image
// would build from that very binary with the metadata of its own build
// info (image.BinaryDigest: assembled in memory, never pushed, computed
// once per binary, before its first process starts, as a kubelet pulls
// before it starts a container). It is not the digest of the image the
// Pod's spec names, which nothing pulled. A binary that is not a Go binary
// gets no imageID.
//
// ReplicaStarter mounts a Pod's Secret and ConfigMap volumes and, with a
// Network, runs its process in a network namespace with the Pod's IP
// (package podnet). It is not a kubelet: no other volumes, no images, no
// probes but readiness. It is for hacheck and tests.
package podrunner
