package store

import "github.com/unistore-bench/unistore/core"

// ControlDefaulter is an optional Store capability: the control-plane
// timings that suit the store, used for the fields a run's spec leaves
// zero, before core's defaults. A store whose round trips are slow (the
// Snowflake store: 10–200 ms each) polls and heartbeats less often and
// waits longer before declaring a worker lost or a lease expired.
type ControlDefaulter interface {
	// ControlDefaults returns the store's timings; zero fields have none
	// of their own (core's defaults apply).
	ControlDefaults() core.ControlSpec
}

// ControlDefaults returns c with each zero field set from st's
// ControlDefaults, if st has them; fields still zero take core's defaults
// later (core.ControlSpec.WithDefaults). The orchestrator calls it on the
// spec it is given, before anything else defaults it.
func ControlDefaults(st Store, c core.ControlSpec) core.ControlSpec {
	cd, ok := st.(ControlDefaulter)
	if !ok {
		return c
	}
	d := cd.ControlDefaults()
	if c.Poll <= 0 {
		c.Poll = d.Poll
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = d.Heartbeat
	}
	if c.HeartbeatTimeout <= 0 {
		c.HeartbeatTimeout = d.HeartbeatTimeout
	}
	if c.Lease <= 0 {
		c.Lease = d.Lease
	}
	if c.MaxRelaunches == 0 {
		c.MaxRelaunches = d.MaxRelaunches
	}
	return c
}
