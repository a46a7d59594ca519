package leader

import (
	"os"

	"k8s.io/apimachinery/pkg/util/rand"
)

// Identity returns this replica's leader-election identity: $POD_NAME, so
// the Lease names the Pod that holds it, or, outside a Pod, the host name
// plus a random suffix so that several processes on one host differ.
func Identity() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "primus"
	}
	return host + "_" + rand.String(8)
}
