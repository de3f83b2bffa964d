package unistore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/unistore-bench/unistore"
	"github.com/unistore-bench/unistore/core"
	_ "github.com/unistore-bench/unistore/driver/snowflake"
	"github.com/unistore-bench/unistore/emulator"
	"github.com/unistore-bench/unistore/internal/testsf"
)

// TestEnrichSnowflake: a run on a Snowflake target (the emulator) records
// a cost estimate from the warehouse's size and its sampled clusters;
// while ACCOUNT_USAGE lags, `--enrich` and Enrich leave the metered
// credits and the server figures PENDING with the reason; once the views
// have caught up, Enrich replaces the estimate with the metered credits
// and puts the server's per-operation figures of the measurement beside
// the client's — in the stored result, which Show then returns.
func TestEnrichSnowflake(t *testing.T) {
	cfg := testsf.Config()
	cfg.AccountUsageLag = 3 * time.Hour
	sf := testsf.Start(t, cfg)
	if err := sf.Exec(`CREATE TABLE t (id NUMBER(18,0) PRIMARY KEY, v NUMBER(18,0) NOT NULL);
INSERT INTO t SELECT SEQ4() + 1, SEQ4() FROM TABLE(GENERATOR(ROWCOUNT => 100));`); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, sf.RunDSN())
	target := "snowflake://" + sf.DSN(testsf.AdminUser, testsf.AdminPassword, emulator.DefaultDatabase, emulator.DefaultSchema) + "&warehouse=LOAD_WH"
	spec := selectSpec(target, 100)
	spec.Rate = 300
	spec.PricePerCredit = 2.5
	ctx := ctxFor(t, 2*time.Minute)
	res, err := unistore.Run(ctx, spec, unistore.WithStore(st), unistore.WithEnrich(true))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Cost
	if c == nil || c.Source != "estimate" || c.Warehouse != "LOAD_WH" || c.Size != "X-Small" || c.ClustersMax != 1 ||
		c.BilledSeconds != 60 || c.Credits != 0.016666667 || c.Enrichment == nil || c.Enrichment.Status != core.EnrichPending {
		t.Fatalf("cost %+v", c)
	}
	if s := res.Server; s == nil || s.Status != core.EnrichPending || s.Reason == "" {
		t.Fatalf("server %+v", s)
	}
	if c.ControlPlane.Store != "snowflake" || c.ControlPlane.Credits <= 0 || c.ControlPlane.Writes == 0 {
		t.Errorf("control plane %+v", c.ControlPlane)
	}

	again, err := unistore.Enrich(ctx, st, res.RunID, target)
	if err != nil {
		t.Fatal(err)
	}
	if again.Cost.Enrichment.Status != core.EnrichPending || again.Server.Status != core.EnrichPending {
		t.Fatalf("lagging views: cost %+v, server %+v", again.Cost.Enrichment, again.Server)
	}

	// A target that refuses the login: FAILED with the reason, stored, and
	// no password in it.
	bad := strings.Replace(target, testsf.AdminPassword, "wrong-password-42", 1)
	if _, err := unistore.Enrich(ctx, st, res.RunID, bad); err == nil {
		t.Fatal("enrich with a wrong password succeeded")
	}
	failed, err := unistore.Show(ctx, st, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if e := failed.Cost.Enrichment; e == nil || e.Status != core.EnrichFailed || strings.Contains(e.Reason, "wrong-password-42") ||
		strings.Contains(failed.Server.Reason, "wrong-password-42") {
		t.Fatalf("failed enrichment %+v, server %+v", e, failed.Server)
	}

	sf.SetAccountUsageLag(0)
	done, err := unistore.Enrich(ctx, st, res.RunID, target)
	if err != nil {
		t.Fatal(err)
	}
	if done.Cost.Source != "metered" || done.Cost.Enrichment.Status != core.EnrichCompleted || done.Cost.EstimatedCredits != c.Credits ||
		done.Cost.Credits <= 0 || done.Cost.Dollars == 0 {
		t.Errorf("metered cost %+v", done.Cost)
	}
	op := done.Server.Operations["select"]
	client := res.Operations["select"]
	if done.Server.Status != core.EnrichCompleted || op.Calls == 0 || op.ClientCalls != client.Count-client.Errors {
		t.Fatalf("server %+v", done.Server)
	}
	// A statement in flight at the warm-up's end (tagged WARMUP, counted
	// MEASUREMENT) or at the stop (run by the server, not counted): one of
	// each per connection at most.
	slack := int64(2 * spec.Connections)
	if d := op.Calls - op.ClientCalls; d < -slack || d > slack {
		t.Errorf("server calls %d, client %d", op.Calls, op.ClientCalls)
	}
	shown, err := unistore.Show(ctx, st, res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Cost.Source != "metered" || shown.Server.Status != core.EnrichCompleted {
		t.Errorf("Show after Enrich: cost %+v, server %+v", shown.Cost, shown.Server)
	}
	t.Logf("estimate %.9f credits, metered %.9f; select: server calls %d, client %d; server mean %.3f ms, client %.3f ms",
		c.Credits, done.Cost.Credits, op.Calls, op.ClientCalls, op.MeanMS, op.ClientMeanMS)
}
