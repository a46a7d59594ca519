package leader

import "github.com/primus-dev/primus/internal/platform/leader/timing"

// MinLeaseMargin is timing.MinLeaseMargin, the least leaseDuration -
// renewDeadline the binary accepts; see there for why.
const MinLeaseMargin = timing.MinLeaseMargin
