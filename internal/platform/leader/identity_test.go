package leader

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHolderPod(t *testing.T) {
	cases := []struct {
		name, holder, pod string
	}{
		{"empty holder", "", ""},
		{"pod name alone", "primus-6cd54f554d-g8h56", "primus-6cd54f554d-g8h56"},
		{"pod name and process suffix", "primus-6cd54f554d-g8h56_x7k2q9ab", "primus-6cd54f554d-g8h56"},
		{"host outside a pod", "laptop_abcd1234", "laptop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.pod, HolderPod(tc.holder))
		})
	}
}
