package platform

import (
	"fmt"
	"regexp"
	"strconv"
)

// userAgentProduct opens every user agent of the binary.
const userAgentProduct = "primus"

// UserAgent is the User-Agent of every request one primus process sends to
// the Kubernetes API server: the product, the leader-election identity and
// the process id, e.g. "primus (primus-6cd5-x7k2q; pid 4242)". The API
// server's audit log records it with each request, so every write is
// attributed to the process that made it, also when a container restarted
// in place runs a second process under the same Pod name.
func UserAgent(identity string, pid int) string {
	return fmt.Sprintf("%s (%s; pid %d)", userAgentProduct, identity, pid)
}

// ManagementAPIComponent ends the user agent of the API's requests
// (internal/platform/mgmtapi: Project reads, writes and watches for its
// callers), which any replica, leader or not, may make:
// UserAgent(identity, pid) + " management-api".
const ManagementAPIComponent = "management-api"

// LeaseComponent ends the user agent of the Lease client's requests
// (election and renewals): UserAgent(identity, pid) + " leader-election".
const LeaseComponent = "leader-election"

var userAgentRE = regexp.MustCompile(`^primus \(([^;()]+); pid (\d+)\)(?: (\S+))?$`)

// UserAgentComponent returns the component a UserAgent ends with
// ("management-api", "leader-election"), or "" for the manager's requests (the controllers).
func UserAgentComponent(ua string) string {
	if m := userAgentRE.FindStringSubmatch(ua); m != nil {
		return m[3]
	}
	return ""
}

// ParseUserAgent returns the identity and process id of a UserAgent; ok is
// false for any other user agent.
func ParseUserAgent(ua string) (identity string, pid int, ok bool) {
	m := userAgentRE.FindStringSubmatch(ua)
	if m == nil {
		return "", 0, false
	}
	pid, err := strconv.Atoi(m[2])
	if err != nil {
		return "", 0, false
	}
	return m[1], pid, true
}
