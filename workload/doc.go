// Package workload turns a workload description into operations and
// per-loop parameter sources: YAML templates, their validation, the
// weighted operation mix, the parameter generators, and the path for
// workloads written in Go.
//
// # Templates
//
// A template is a core.Spec in YAML:
//
//	name: pgbench-select
//	target: {dsn: "postgres://postgres@127.0.0.1:5432/bench"} # optional; --target overrides
//	connections: 8
//	warmup: 2s
//	duration: 15s
//	rate: 0          # operations/s for the worker; 0 = closed loop
//	seed: 42
//	workload:
//	  operations:
//	    - name: select_balance
//	      weight: 1      # relative; omitted means 1
//	      sql: SELECT abalance FROM pgbench_accounts WHERE aid = ?
//	      params:
//	        - {gen: uniform, min: 1, max: 1000000}
//
// Statements use one placeholder style, "?", bound in order to params (one
// param per "?"; see core.CountPlaceholders for what is not a placeholder).
// Drivers rewrite "?" to their own style.
//
// LoadFile and Parse decode strictly: an unknown field (with a "did you
// mean" hint), a duplicate field, a value of the wrong type or a bad
// duration is an error, and the workload section is compiled. Anchors,
// aliases and merge keys (<<) work; a file whose aliases expand past
// 262144 nodes is refused. Values under target are never echoed in
// messages, since a DSN may hold a password. Every
// problem is reported at once, as an *Error with one line per problem:
//
//	bench.yaml:9:7: workload.operations[0].sqll: unknown field "sqll" (did you mean "sql"?)
//
// errors.Is(err, core.ErrInvalidSpec) holds. Parse applies no defaults and
// does not call Spec.Validate: the caller applies its overrides, then
// reports Template.Locate(spec.Validate()), which places each field path
// on its line, or on its nearest parent's line when the file lacks the
// field. A problem found while decoding a value (connections: many)
// suppresses the compile problems at or below the same field.
//
// A field written with the value its default replaces (connections: 0,
// duration: 0s, seed: 0, control.max_relaunches: 0, a sample's limit: 0)
// is an error at its line (core.Spec.CheckGiven): only a field left out
// takes the default, never a zero that was written. Names (the run's and
// every operation's) are at most core.MaxNameLen bytes of printable text:
// a NUL breaks a PostgreSQL store and a 1 MB name is copied into every
// snapshot row.
//
// StripSecrets removes the password from a template's target.dsn before
// the template is saved: a stored template never holds a secret.
//
// # Objectives and a steady warm-up
//
// slo: sets service-level objectives for the total, and an operation's
// own slo: for that operation (core.SLO): p95_ms, p99_ms, error_rate
// ("0.1%" or 0.001; a bare number above 1 is refused as ambiguous) and
// min_qps. Every result carries their verdicts (Result.SLO).
//
// warmup: is a duration or, for a warm-up that ends once the run is
// steady, a mapping:
//
//	warmup: {until: steady, window: 10s, max: 3m, tolerance: 5%}
//
// The mapping goes to Spec.WarmupSteady (which has no YAML key of its
// own: one key, two forms, decoded by a hook on the "warmup" path so its
// fields are checked and located like any other), and its max becomes
// Spec.Warmup when defaults are applied. A --warmup override replaces it
// with the fixed form.
//
// # Generators
//
// Each param names a generator with gen; only that generator's fields may
// be set (a field meant for another generator is an error, so a typo is
// not ignored).
//
//	{gen: uniform, min: 1, max: 1000000}
//	    An integer uniform in [min, max]; both required.
//	{gen: zipfian, min: 1, max: 1000000, theta: 0.99, scramble: false}
//	    An integer in [min, max] whose rank k (0 = most popular) has
//	    probability ∝ (k+1)^-theta. Rank k is min+k, or, with scramble,
//	    min + FNV-1a(k) mod n so the hot keys spread over the range (as in
//	    YCSB, some keys then share a rank's weight and some never appear).
//	    theta defaults to 0.99 and must be > 0 and ≠ 1.
//	{gen: sequence, start: 1, span: 1000000000000}
//	    Integers start + g*span + a*(span/16) + k, k = 0, 1, 2, …, for
//	    worker group g at launch attempt a (0 unless the orchestrator
//	    relaunched the group's worker): groups never collide, and neither
//	    does a relaunched worker with its predecessors (SequenceAttempts).
//	{gen: sample, table: pgbench_accounts, column: aid, limit: 10000}
//	    A uniform pick among existing keys, read by Prepare.
//	{gen: string, min_len: 8, max_len: 32}
//	    Random alphanumeric text ([A-Za-z0-9]) of a uniform length in
//	    [min_len, max_len]; max_len is required, at most MaxStringLen.
//	{gen: choice, values: [gold, silver, bronze]}
//	    A uniform pick among the given strings; at least one.
//	{gen: now}
//	    The current time, in UTC (core.KindTime).
//
// Decisions:
//
//   - Each generator is compiled once into an immutable part shared by all
//     loops; NewSource adds the per-loop state (a string buffer, a sequence
//     counter handle). Values come from the loop's own *rand.Rand (see
//     NewRand), so one seed reproduces one sequence of operations and
//     parameters — except sequence and now, which depend on the other loops
//     and on the clock. Source.Args does not allocate in steady state: text
//     values alias a per-loop buffer (string) or shared read-only bytes
//     (choice, sample).
//   - Zipfian is the algorithm of Gray et al. (SIGMOD 1994) as in YCSB's
//     ZipfianGenerator, ranks 0 and 1 exact and the rest by its continuous
//     approximation; one Float64 and at most one Pow per value. The
//     approximation is YCSB's, not the exact law: at θ = 0.99 rank 2 comes
//     up ~17% more often than Zipf's law says, ranks past 10 within a few
//     percent; for θ > 1 the tail is thinner than Zipf's (the tests state
//     the bounds). ζ(n, θ) is
//     computed once at compile time: the first 65536 terms summed, the
//     rest by the Euler–Maclaurin formula (integral, end terms, and the
//     first- and third-derivative corrections), exact to float64 precision
//     for any n, so a range of 1e9 (or the whole int64 range) compiles in
//     about a millisecond.
//   - Sequence is sharded by worker group so groups never collide: group g
//     owns [start + g*span, start + (g+1)*span). All loops of one group (one
//     worker) share one atomic counter, held in the Compiled workload, so
//     within a worker values are unique and dense; which loop gets which
//     value depends on scheduling. After span values a group wraps within
//     its own range. Compile checks that start + span*MaxSequenceGroups
//     fits in an int64. Counters start at 0 in each Compiled: a worker
//     restarted with the same group starts its range over.
//   - Sample reads keys in Compiled.Prepare, through the Querier, with
//     "SELECT column FROM table WHERE column IS NOT NULL ORDER BY RANDOM()
//     LIMIT limit" (limit defaults to 10000; one query per distinct table,
//     column and limit). table and column are identifiers, never SQL: each
//     part is [A-Za-z_][A-Za-z0-9_$]* or "double quoted" without a quote
//     inside, and a table may be qualified (schema.table, db.schema.table).
//     A table without rows is a core.FieldErrors at Prepare naming the
//     operation and param. The runner always calls Prepare (a Compiled is a
//     Preparer) before NewSource; NewSource panics if it did not, since
//     that is a bug in the runner, not bad input.
//
// # Mix
//
// NewMix builds an O(1) weighted picker (Walker's alias method) over a
// workload's operations; Pick draws from the loop's Rand and does not
// allocate.
//
// # Workloads written in Go
//
// Anything implementing Workload runs like a template. Static is the
// small way to write one: a fixed list of operations and a function that
// makes each loop's Source (SourceFunc adapts a function). Check a
// hand-written mix with ValidateOperations.
//
//	w := &workload.Static{
//		Ops: []workload.Operation{
//			{Name: "get", Weight: 9, SQL: "SELECT v FROM kv WHERE k = ?"},
//			{Name: "put", Weight: 1, SQL: "UPDATE kv SET v = v + 1 WHERE k = ?"},
//		},
//		NewSourceFunc: func(l workload.Loop) workload.Source {
//			return workload.SourceFunc(func(op int, dst []core.Value) []core.Value {
//				return append(dst[:0], core.Int(1+l.Rand.Int64N(1_000_000)))
//			})
//		},
//	}
//
// A Go workload that reads the target first also implements Preparer.
package workload
