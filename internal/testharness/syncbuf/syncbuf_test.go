package syncbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConcurrentWritesAllLand(t *testing.T) {
	tests := []struct {
		name    string
		writers int
		lines   int
	}{{"one writer", 1, 100}, {"eight writers", 8, 100}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b Buffer
			var wg sync.WaitGroup
			for w := range tc.writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range tc.lines {
						fmt.Fprintf(&b, "w%d line %d\n", w, i)
						_ = b.String() // a reader while writers run
					}
				}()
			}
			wg.Wait()
			assert.Equal(t, tc.writers*tc.lines, strings.Count(b.String(), "\n"))
			assert.Equal(t, b.String(), string(b.Bytes()))
		})
	}
}
