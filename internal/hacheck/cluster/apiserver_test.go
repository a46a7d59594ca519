package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestPauseAPIServerNeedsAStartedCluster: a cluster opened from a
// kubeconfig has no process of ours to freeze. The pause itself runs in
// tests/chaos.
func TestPauseAPIServerNeedsAStartedCluster(t *testing.T) {
	c := &Cluster{name: "https://example.invalid:6443", log: newLogger(nil)}
	assert.ErrorContains(t, c.PauseAPIServer(), "was not started by this package")
	assert.ErrorContains(t, c.ResumeAPIServer(), "was not started by this package")
}
