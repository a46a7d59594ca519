package progress

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrinter(t *testing.T) {
	var b bytes.Buffer
	p := New(&b)
	p.Step("starting %s", "the cluster")
	p.Wait("%d/%d ready", 2, 3)
	assert.Regexp(t, regexp.MustCompile(`^\[ *\d+\.\ds\] starting the cluster\n\[ *\d+\.\ds\]   … 2/3 ready\n$`), b.String())
	New(nil).Step("discarded") // must not panic
}
