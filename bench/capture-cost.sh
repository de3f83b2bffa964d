#!/usr/bin/env bash
# capture-cost.sh: what `--capture all` costs at the peak QPS of
# examples/pgbench-select.yaml, against `--capture none`.
#
# One PostgreSQL holds both the target (pgbench -i -s 10) and the results
# store (a separate database, schema applied). For ROUNDS rounds it runs,
# alternately (the order flips each round),
#   unistore run examples/pgbench-select.yaml --connections C --duration D --capture all
#   unistore run examples/pgbench-select.yaml --connections C --duration D --capture none
# and prints each run's QPS, the ratio all/none per round and its median,
# and how many executions per second the capture-all runs stored (and
# dropped, if any).
#
# Environment (all optional):
#   PGBENCH_DSN   a postgres:// URL of a server to use (superuser: the
#                 script creates two databases on it); without it the
#                 script starts a throwaway PostgreSQL under /tmp
#   ROUNDS        rounds (default 3)
#   C             connections (default 16)
#   DURATION      measurement seconds per run (default 15; "15s" accepted)
#   KEEP_OUTPUT=1 keep the per-run logs and JSON (their directory is printed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
rounds=${ROUNDS:-3}
conns=${C:-16}
duration=${DURATION:-15}
duration=${duration%s}
scale=10 # examples/pgbench-select.yaml draws aid from 1..1000000: scale 10

die() { echo "capture-cost: $*" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$rounds: want a positive integer"
[[ $conns =~ ^[1-9][0-9]*$ ]] || die "C=$conns: want a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION=$duration: want whole seconds"
for tool in pgbench psql go python3; do
	command -v $tool >/dev/null || die "$tool not found in PATH"
done

work=$(mktemp -d /tmp/capture-cost.XXXXXX)
chmod 755 "$work"
cleanup() {
	pg_stop_throwaway
	if [ "${KEEP_OUTPUT:-}" = 1 ]; then
		echo "capture-cost: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${PGBENCH_DSN:-}" ]; then
	server=$PGBENCH_DSN
	case $server in postgres://* | postgresql://*) ;; *) die "PGBENCH_DSN must be a postgres:// URL" ;; esac
	echo "capture-cost: using the server in PGBENCH_DSN"
else
	pg_start_throwaway "$work/pg" $((conns * 2 + 50)) || die "could not start PostgreSQL (or set PGBENCH_DSN)"
	server=$PG_DSN
	echo "capture-cost: started $("$PG_BIN/postgres" --version) at ${server%%\?*} (fsync off)"
fi
target=$(dsn_with_db "$server" capture_cost_target)
store=$(dsn_with_db "$server" capture_cost_store)
for db in capture_cost_target capture_cost_store; do
	PGOPTIONS="-c client_min_messages=warning" psql -q -X "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null ||
		die "cannot create database $db"
done

echo "capture-cost: building unistore"
(cd "$root" && go build -o "$work/unistore" ./cmd/unistore) || die "go build failed"
"$work/unistore" schema apply --store "$store" >"$work/schema.log" 2>&1 || { cat "$work/schema.log" >&2; die "schema apply failed"; }
echo "capture-cost: pgbench -i -s $scale"
pgbench -i -q -s "$scale" "$target" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "pgbench -i failed"; }

# One line per run in $results: round capture qps stored dropped seconds errors
results=$work/results.tsv
: >"$results"
run() { # round capture
	local js=$work/r$1-$2.json log=$work/r$1-$2.log
	(cd "$root" && "$work/unistore" run examples/pgbench-select.yaml --target "$target" --store "$store" \
		--connections "$conns" --duration "${duration}s" --capture "$2" --quiet --json "$js") >"$log" 2>&1 ||
		{ cat "$log" >&2; die "unistore failed (round $1, capture $2)"; }
	python3 - "$js" "$1" "$2" >>"$results" <<'PY' || die "cannot parse $js"
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("store") or {}
secs = (r.get("warmup") or {}).get("seconds", 0) + r["measured_seconds"]
print(sys.argv[2], sys.argv[3], r["total"]["qps"], s.get("executions_stored", 0), s.get("executions_dropped", 0),
      secs, r["total"].get("errors", 0))
PY
}

echo "capture-cost: C=$conns, $rounds rounds of ${duration}s per capture mode, alternating"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run "$r" all; run "$r" none; else run "$r" none; run "$r" all; fi
	echo "capture-cost: round $r: $(awk -v r="$r" '$1 == r {printf "%s %.0f QPS  ", $2, $3}' "$results")" >&2
done

echo
printf '%6s  %12s  %12s  %9s  %16s  %10s\n' round "QPS all" "QPS none" "all/none" "stored/s (all)" "dropped"
ratios=() rates=()
for r in $(seq 1 "$rounds"); do
	read -r qa sa da secs ea < <(awk -v r="$r" '$1 == r && $2 == "all" {print $3, $4, $5, $6, $7}' "$results")
	read -r qn en < <(awk -v r="$r" '$1 == r && $2 == "none" {print $3, $7}' "$results")
	ratio=$(awk -v a="$qa" -v n="$qn" 'BEGIN {printf "%.3f", a / n}')
	rate=$(awk -v s="$sa" -v t="$secs" 'BEGIN {printf "%.0f", s / t}')
	ratios+=("$ratio") rates+=("$rate")
	printf '%6s  %12.0f  %12.0f  %9s  %16s  %10s\n' "$r" "$qa" "$qn" "$ratio" "$rate" "$da"
	[ "$ea" = 0 ] && [ "$en" = 0 ] || echo "capture-cost: warning: round $r had errors (all $ea, none $en)" >&2
done
echo
echo "median QPS ratio all/none: $(median "${ratios[@]}")   median executions stored/s (capture all): $(median "${rates[@]}")"
echo "stored/s counts warm-up and measurement executions over both phases' seconds; $(nproc) CPUs, shared by client, server and store"
