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
// It is not a kubelet: it never writes Pod status (kwok owns it), runs no
// probes that change anything, mounts nothing, and gives the processes no
// network of their own. It is for tests only.
package podrunner
