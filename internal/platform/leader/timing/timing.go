// Package timing is client-go's rule for a leader election's three
// durations, in one function the primus binary, hacheck's lease-timing rule
// and (mirrored in template arithmetic) charts/ha-lib use. It imports only
// client-go's leaderelection, so hacheck's public API can use it without the
// platform binary's dependencies.
package timing

import (
	"fmt"
	"time"

	"k8s.io/client-go/tools/leaderelection"
)

// Lease is an election's three durations, as client-go's
// leaderelection.LeaderElectionConfig takes them.
type Lease struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Names are what the user calls the three durations in a message: the
// binary's flags, or the chart's values keys.
type Names struct {
	LeaseDuration, RenewDeadline, RetryPeriod string
}

// PrimusFlags are the primus binary's flags for the three durations.
var PrimusFlags = Names{LeaseDuration: "--lease-duration", RenewDeadline: "--renew-deadline", RetryPeriod: "--retry-period"}

// Validate reports, as one line naming the durations as names does, the
// first reason client-go's leaderelection.NewLeaderElector would refuse t.
// It is client-go's rule exactly, float arithmetic included:
//
//	leaseDuration > renewDeadline
//	renewDeadline > time.Duration(JitterFactor * float64(retryPeriod))   (JitterFactor = 1.2)
//	every duration >= 1ns
//
// The primus binary (platform.Options.Validate), hacheck's lease-timing rule
// and, mirrored in Go template arithmetic, the chart's _validate.tpl use it;
// tests check that the three agree with client-go on a table.
func (t Lease) Validate(names Names) error {
	switch {
	case t.LeaseDuration < 1 || t.RenewDeadline < 1 || t.RetryPeriod < 1:
		return fmt.Errorf("%s, %s and %s must be positive", names.LeaseDuration, names.RenewDeadline, names.RetryPeriod)
	case t.LeaseDuration <= t.RenewDeadline:
		return fmt.Errorf("%s (%s) must be longer than %s (%s)", names.LeaseDuration, t.LeaseDuration, names.RenewDeadline, t.RenewDeadline)
	case t.RenewDeadline <= time.Duration(leaderelection.JitterFactor*float64(t.RetryPeriod)):
		return fmt.Errorf("%s (%s) must be longer than %.1f x %s (%s)", names.RenewDeadline, t.RenewDeadline, leaderelection.JitterFactor, names.RetryPeriod, t.RetryPeriod)
	}
	return nil
}

// ValidateMargin is Validate plus a floor beyond client-go's rule: the
// primus binary also wants leaseDuration - renewDeadline >= margin
// (MinLeaseMargin). A zero margin is Validate alone.
func (t Lease) ValidateMargin(margin time.Duration, names Names) error {
	if err := t.Validate(names); err != nil {
		return err
	}
	if margin > 0 && t.LeaseDuration-t.RenewDeadline < margin {
		return fmt.Errorf("%s (%s) must exceed %s (%s) by at least %s: the margin bounds how late a leader's last write may land", names.LeaseDuration, t.LeaseDuration, names.RenewDeadline, t.RenewDeadline, margin)
	}
	return nil
}

// MinLeaseMargin is the least margin, leaseDuration - renewDeadline, the
// binary accepts; the chart's validation and hacheck's lease-timing rule
// use the same floor.
//
// The margin is what keeps a leader's last write ahead of the next
// leader: a write passes the fence only within the renew deadline of the
// last renewal and carries a context deadline of half the margin past it
// (Lock.WriteDeadline); the other half covers a request the API server
// applies after the client gave up (its handler runs on until it notices)
// and differences of clock rate between replicas (10^-4 of a lease at
// worst). One second leaves 500 ms for each, several times an API
// server's write latency under load; client-go's defaults (15 s / 10 s)
// leave 5 s.
const MinLeaseMargin = time.Second
