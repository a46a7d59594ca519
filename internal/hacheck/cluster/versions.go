package cluster

// Pinned versions of everything the embedded cluster runs. They must agree
// with tools/clusterbin/go.mod (Kubernetes and etcd); a unit test checks it.
const (
	// KubernetesVersion is the version of kube-apiserver,
	// kube-controller-manager and kube-scheduler, as reported by the API
	// server's /version endpoint.
	KubernetesVersion = "v1.37.2"
	// EtcdVersion is the version of go.etcd.io/etcd/server/v3 that etcd is
	// built from.
	EtcdVersion = "v3.7.0"
	// KwokVersion is the version of sigs.k8s.io/kwok (kwok and kwokctl).
	KwokVersion = "v0.8.0"
	// HelmVersion is the version of helm.sh/helm/v3 (the helm CLI).
	HelmVersion = "v3.22.0"
)
