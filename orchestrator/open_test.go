package orchestrator_test

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/unistore-bench/unistore/control"
	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/orchestrator"
	"github.com/unistore-bench/unistore/report"
	"github.com/unistore-bench/unistore/rollup"
	"github.com/unistore-bench/unistore/store"
)

// TestOpenModelAccounting: every intended start of the measurement is
// counted once, as started, skipped or still pending at the end
// (intended = started + skipped + pending), warm-up's queue included; an
// overloaded client (4 connections, 50 ms statements: 80/s, asked for
// 200/s) says plainly that it could not keep the rate, and a client with
// room to spare does not.
func TestOpenModelAccounting(t *testing.T) {
	for _, tc := range []struct {
		name     string
		workers  int
		rate     float64
		duration time.Duration
		behind   bool
		skipped  bool
	}{
		{"overloaded, one worker", 1, 200, 8 * time.Second, true, false},
		{"overloaded, two workers", 2, 200, 8 * time.Second, true, false},
		// 2,000 queued starts fill the backlog after ~17 s: then starts are skipped.
		{"overloaded past the backlog", 2, 200, 24 * time.Second, true, true},
		{"within capacity", 2, 40, 8 * time.Second, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(store.NewMemory())
				r.conn.D = 50 * time.Millisecond
				spec := testSpec(tc.workers, 2*time.Second, tc.duration)
				spec.Connections, spec.Rate = 4/tc.workers, tc.rate // 4 connections in all
				res, err := r.start(t, spec, nil).Wait()
				if err != nil {
					t.Fatal(err)
				}
				o := res.Open
				if o == nil {
					t.Fatal("no open-model figures")
				}
				t.Logf("%+v; executed %d, response max %.0f ms", *o, res.Total.Count, res.Total.Response.Max)
				if o.Intended != o.Started+o.Skipped+o.Pending {
					t.Errorf("intended %d != started %d + skipped %d + pending %d", o.Intended, o.Started, o.Skipped, o.Pending)
				}
				if o.Started > o.Intended {
					t.Errorf("started %d > intended %d", o.Started, o.Intended)
				}
				// What ran is what was executed, give or take the 4 in
				// flight at each end of the measurement.
				if d := o.Started - res.Total.Count; d < -4 || d > 4 {
					t.Errorf("started %d, executed %d: want within 4", o.Started, res.Total.Count)
				}
				if o.Behind != tc.behind || (o.Skipped > 0) != tc.skipped {
					t.Errorf("behind %v, skipped %d; want behind %v, skipped %v", o.Behind, o.Skipped, tc.behind, tc.skipped)
				}
				var out bytes.Buffer
				if err := report.Summary(&out, res); err != nil {
					t.Fatal(err)
				}
				if said := strings.Contains(out.String(), "COULD NOT KEEP THE RATE"); said != tc.behind {
					t.Errorf("summary says it could not keep the rate: %v, want %v:\n%s", said, tc.behind, out.String())
				}
				if !tc.behind {
					if o.Pending > int64(spec.Workers) || o.CarriedIn > int64(spec.Workers) {
						t.Errorf("pending %d, carried in %d with room to spare", o.Pending, o.CarriedIn)
					}
					return
				}
				// Overloaded: 80/s served of 200/s; warm-up's queue carries
				// over; what still waits at the end is most of the rest.
				if o.CarriedIn < 150 || o.Pending < int64(float64(o.Intended)/3) {
					t.Errorf("carried in %d, pending %d of %d: want warm-up's queue carried and most starts pending", o.CarriedIn, o.Pending, o.Intended)
				}
				// The starts that ran waited in the queue, and their
				// response time shows it: the last ones waited seconds.
				if res.Total.Response.Max < 2000 || res.Total.Latency.Max > 51 {
					t.Errorf("response max %.0f ms, service max %.0f ms: want seconds of waiting, 50 ms of service", res.Total.Response.Max, res.Total.Latency.Max)
				}
			})
		})
	}
}

// TestConnectionsAfterScale: the result holds the connection targets over
// the run — at the start, at the end and at most, per worker and across
// the workers, with each scale — and `runs show` recomputes the same.
func TestConnectionsAfterScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		r := newRig(store.NewMemory())
		run := r.start(t, testSpec(2, 0, 6*time.Second), nil)
		time.Sleep(2 * time.Second)
		if err := orchestrator.Scale(ctx, r.st, run.ID, 4); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := orchestrator.Scale(ctx, r.st, run.ID, 3, 1); err != nil {
			t.Fatal(err)
		}
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		got := res.ConnectionsTarget
		if got == nil {
			t.Fatal("no connections_target")
		}
		want := core.ConnectionTargets{Start: 2, Final: 4, Max: 4, TotalStart: 4, TotalFinal: 7, TotalMax: 8}
		if c := *got; c.Start != want.Start || c.Final != want.Final || c.Max != want.Max || c.TotalStart != want.TotalStart ||
			c.TotalFinal != want.TotalFinal || c.TotalMax != want.TotalMax || len(c.Changes) != 2 ||
			c.Changes[0].Total != 8 || c.Changes[1].Total != 7 || !slices.Equal(c.Changes[1].Groups, []int{1}) {
			t.Errorf("connections_target %+v, want %+v with changes to 8 then 7 (group 1)", c, want)
		}
		if res.Connections != 2 {
			t.Errorf("connections %d, want the start's 2", res.Connections)
		}
		shown, err := rollup.Result(ctx, r.st, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(shown.ConnectionsTarget, got) {
			t.Errorf("runs show: %+v, run: %+v", shown.ConnectionsTarget, got)
		}
		var out bytes.Buffer
		if err := report.Summary(&out, res); err != nil {
			t.Fatal(err)
		}
		if line := "connections per worker: 2 at the start, 4 at the end, 4 at most; across 2 workers: 4, 7, 8 at most (2 scales)"; !strings.Contains(out.String(), line) {
			t.Errorf("summary lacks %q:\n%s", line, out.String())
		}
	})
}

// TestWarmupConfiguredAndActual: the warm-up ends on the orchestrator's
// clock exactly when configured (a timer, not the next poll: 2.05 s is not
// a multiple of the 100 ms poll), and the result reports both the
// configured warm-up and the span the workers actually warmed up, the
// summary explaining the difference.
func TestWarmupConfiguredAndActual(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(store.NewMemory())
		run := r.start(t, testSpec(2, 2050*time.Millisecond, 3*time.Second), nil)
		res, err := run.Wait()
		if err != nil {
			t.Fatal(err)
		}
		ev := r.events(t, run.ID)
		if len(ev) < 3 || ev[1].Kind != control.EventSetPhase {
			t.Fatalf("events %+v", ev)
		}
		if d := ev[1].CreatedAt.Sub(ev[0].CreatedAt); d != 2050*time.Millisecond {
			t.Errorf("SET_PHASE %v after START, want exactly 2.05s", d)
		}
		if d := ev[2].CreatedAt.Sub(ev[0].CreatedAt); d != 5050*time.Millisecond {
			t.Errorf("STOP %v after START, want exactly 5.05s", d)
		}
		wu := res.Warmup
		if wu.ConfiguredSeconds != 2.05 || wu.Seconds < 2.05 || wu.Seconds > 2.05+(2*poll+heartbeat).Seconds() {
			t.Errorf("warm-up %+v: want 2.05 configured, and at most a join and a poll more run", wu)
		}
		var out bytes.Buffer
		if err := report.Summary(&out, res); err != nil {
			t.Fatal(err)
		}
		if wu.Seconds-wu.ConfiguredSeconds >= 0.05 && !strings.Contains(out.String(), "for 2.05s configured") {
			t.Errorf("summary does not explain the warm-up's %.3fs:\n%s", wu.Seconds, out.String())
		}
	})
}
