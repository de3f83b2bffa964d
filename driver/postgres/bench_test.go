package postgres_test

import (
	"context"
	"testing"

	"github.com/unistore-bench/unistore/core"
	"github.com/unistore-bench/unistore/driver/postgres"
	"github.com/unistore-bench/unistore/internal/testpg"
)

// benchExec measures one point select per iteration on one held connection.
func benchExec(b *testing.B, mode postgres.Mode) {
	dsn := testpg.NewDatabase(b)
	testpg.Exec(b, dsn,
		"CREATE TABLE t (aid int PRIMARY KEY, abalance int NOT NULL)",
		"INSERT INTO t SELECT g, g * 10 FROM generate_series(1, 1000) g")
	conn := connect(b, withMode(b, dsn, mode))
	ctx, cancel := context.WithCancel(context.Background()) // a cancellable ctx, like a run's
	defer cancel()
	s, err := conn.Prepare(ctx, "SELECT abalance FROM t WHERE aid = ?")
	if err != nil {
		b.Fatal(err)
	}
	args := []core.Value{core.Int(0)}
	i := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		args[0].Int = i%1000 + 1
		i++
		n, err := s.Exec(ctx, args)
		if err != nil || n != 1 {
			b.Fatalf("n=%d err=%v", n, err)
		}
	}
}

func BenchmarkExecPrepared(b *testing.B) { benchExec(b, postgres.ModePrepared) }
func BenchmarkExecExtended(b *testing.B) { benchExec(b, postgres.ModeExtended) }
func BenchmarkExecSimple(b *testing.B)   { benchExec(b, postgres.ModeSimple) }
func BenchmarkExecRaw(b *testing.B)      { benchExec(b, postgres.ModeRaw) }
