package verify

import (
	"fmt"
	"time"
)

// UnmarshalText reads what MarshalText prints, so a report's JSON (-o
// json) decodes back into a Report.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}
