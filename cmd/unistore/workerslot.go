package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/unistore-bench/unistore"
)

// workerSlot is the group and attempt `unistore worker` joins as: the
// flags, else what a cluster scheduler puts in the environment — a
// Snowpark Container Services job replica's SNOWFLAKE_JOB_INDEX
// (zero-based; UNISTORE_GROUP, set in the job's spec, wins over it), a
// Kubernetes pod's UNISTORE_ATTEMPT (its index's failure count, empty on
// a first pod). A Kubernetes pod gives its group on the command line,
// --group $(JOB_COMPLETION_INDEX).
func workerSlot(c *cli.Context) (group, attempt int, err error) {
	group, attempt = c.Int("group"), c.Int("attempt")
	if !c.IsSet("group") {
		for _, name := range []string{"UNISTORE_GROUP", "SNOWFLAKE_JOB_INDEX"} {
			if v, ok := os.LookupEnv(name); ok && strings.TrimSpace(v) != "" {
				if group, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || group < 0 {
					return 0, 0, fmt.Errorf("worker: $%s=%q: want a group number 0..workers-1", name, v)
				}
				break
			}
		}
	}
	if group < 0 {
		return 0, 0, errors.New("worker: give --group G (0..workers-1)")
	}
	if !c.IsSet("attempt") {
		if v := strings.TrimSpace(os.Getenv("UNISTORE_ATTEMPT")); v != "" {
			if attempt, err = strconv.Atoi(v); err != nil || attempt < 0 {
				return 0, 0, fmt.Errorf("worker: $UNISTORE_ATTEMPT=%q: want an attempt number, 0 or more", v)
			}
		}
	}
	return group, attempt, nil
}

// joinWaiting runs join, and again while it fails because the group is
// held by a live worker, for up to wait: a scheduler may restart a
// failed worker before its heartbeat has gone stale. Within the same
// wait it first waits for the run to exist: pods applied from a manifest
// may start before `unistore run --launcher external --run-id ID` has
// created it.
func joinWaiting(ctx context.Context, st unistore.Store, runID string, wait time.Duration, join func() error) error {
	deadline := time.Now().Add(wait)
	for wait > 0 && time.Now().Before(deadline) {
		if _, err := st.GetRun(ctx, runID); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	for {
		err := join()
		if !errors.Is(err, unistore.ErrGroupTaken) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}
