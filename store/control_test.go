package store_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/store"
)

// slowStore is a store with control defaults of its own.
type slowStore struct{ *store.Memory }

func (slowStore) ControlDefaults() core.ControlSpec {
	return core.ControlSpec{Poll: core.Duration(time.Second), HeartbeatTimeout: core.Duration(30 * time.Second)}
}

func TestControlDefaults(t *testing.T) {
	given := core.ControlSpec{HeartbeatTimeout: core.Duration(9 * time.Second), Lease: core.Duration(20 * time.Second)}
	for _, tc := range []struct {
		name string
		st   store.Store
		want core.ControlSpec
	}{
		// A store without defaults leaves the spec as given.
		{"memory", store.NewMemory(), given},
		// The store fills what the spec leaves zero and nothing else;
		// what both leave zero is left for core's defaults.
		{"slow", slowStore{store.NewMemory()}, core.ControlSpec{Poll: core.Duration(time.Second),
			HeartbeatTimeout: core.Duration(9 * time.Second), Lease: core.Duration(20 * time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, store.ControlDefaults(tc.st, given)); d != "" {
				t.Errorf("ControlDefaults (-want +got):\n%s", d)
			}
		})
	}
}
