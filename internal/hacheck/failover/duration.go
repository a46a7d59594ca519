package failover

import (
	"strconv"
	"time"
)

// Seconds is a duration that a report shows rounded to the millisecond:
// "1.234s" in text and 1.234 (seconds) in JSON.
type Seconds time.Duration

// D returns s as a time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) }

// String formats s as seconds with three decimals, "1.234s".
func (s Seconds) String() string {
	return strconv.FormatFloat(time.Duration(s).Seconds(), 'f', 3, 64) + "s"
}

// MarshalJSON encodes s as a number of seconds with three decimals.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(time.Duration(s).Round(time.Millisecond).Seconds(), 'f', 3, 64)), nil
}

// UnmarshalJSON decodes a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*s = Seconds(time.Duration(f * float64(time.Second)))
	return nil
}
