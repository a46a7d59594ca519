package leader

import (
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/rand"
)

// Identity returns this process's leader-election identity:
// NewIdentity($POD_NAME).
func Identity() string {
	return NewIdentity(os.Getenv("POD_NAME"))
}

// NewIdentity returns a leader-election identity unique to this process:
// "<pod>_<random suffix>", so the Lease names the Pod that holds it (see
// HolderPod) and a container restarted in place under the same Pod name
// is a new candidate, not the holder: it waits for the Lease like every
// standby and its takeover counts as a transition. Outside a Pod (pod
// empty) the host name stands for the Pod.
func NewIdentity(pod string) string {
	if pod == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "primus"
		}
		pod = host
	}
	return pod + IdentitySeparator + rand.String(8)
}

// IdentitySeparator separates the Pod (or host) name from the per-process
// suffix in an identity: "<pod>_<suffix>", as controller-runtime builds its
// identities.
const IdentitySeparator = "_"

// HolderPod returns the name of the Pod a Lease holder identity belongs to:
// the part before IdentitySeparator when there is one ("primus-abc_x7k2q9"
// is Pod "primus-abc"), else the identity itself (the Pod name alone, as
// releases before per-process identities wrote it). Pod names cannot
// contain "_", so the mapping is exact. An empty holder maps to "".
func HolderPod(holder string) string {
	if pod, _, ok := strings.Cut(holder, IdentitySeparator); ok {
		return pod
	}
	return holder
}
