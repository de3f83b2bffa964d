#!/usr/bin/env bash
# capture-cost.sh: what `--capture all` costs at the peak QPS of
# examples/pgbench-select.yaml, against `--capture none`: the client's CPU
# per query (the figure the capture budget, ≤ 5 %, is about), the QPS, and,
# reported apart, the store server's CPU per stored execution.
#
# By default two throwaway PostgreSQL clusters run on this machine: one
# holds the target (pgbench -i -s 10), the other the results store (schema
# applied), so the store's ingest shows as its own server's CPU. STORE=same
# puts the store in a second database of the target's cluster instead.
# For ROUNDS rounds it runs, alternately (the order flips each round),
#   unistore run examples/pgbench-select.yaml --connections C --duration D --capture all
#   unistore run examples/pgbench-select.yaml --connections C --duration D --capture none
# and prints per round: QPS, client CPU µs/query (user+sys of the unistore
# process, from /usr/bin/time, over warm-up + measured queries), the ratios
# all/none, executions stored per second, the store cluster's CPU per
# stored execution, and capture's own share of the client's CPU in the
# capture=all run; then the medians of the per-round ratios.
#
# capture's own share comes from a CPU profile of the run (--cpuprofile;
# both modes are profiled alike): the samples whose stack holds the loops'
# staging of captured rows (worker.(*Worker).stage, flushExecs) or the
# executions' store writer goroutine (store.Writer of store.Execution:
# batching, encoding, sending), plus the garbage collector's, over all the
# process's samples. The all/none ratio of CPU per query also holds what
# capture does to the machine: the store server's ingest shares the cores,
# and the client's own system calls (a loopback write does the receiving
# backend's TCP work and wake-up) get dearer.
#
# Environment (all optional):
#   PGBENCH_DSN   a postgres:// URL of a server for the target (superuser:
#                 the script creates databases on it); without it the script
#                 starts a throwaway PostgreSQL under /tmp
#   STORE_DSN     a postgres:// URL of a server for the store (superuser);
#                 without it a second throwaway cluster (or, with
#                 STORE=same, the target's server)
#   STORE         "separate" (default) or "same"
#   ROUNDS        rounds (default 3)
#   C             connections (default 16)
#   DURATION      measurement seconds per run (default 15; "15s" accepted)
#   UNISTORE_PARAMS extra target DSN parameters, e.g. "engine=goroutine"
#   KEEP_OUTPUT=1 keep the per-run logs and JSON (their directory is printed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
rounds=${ROUNDS:-3}
conns=${C:-16}
duration=${DURATION:-15}
duration=${duration%s}
placement=${STORE:-separate}
scale=10 # examples/pgbench-select.yaml draws aid from 1..1000000: scale 10

die() { echo "capture-cost: $*" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$rounds: want a positive integer"
[[ $conns =~ ^[1-9][0-9]*$ ]] || die "C=$conns: want a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION=$duration: want whole seconds"
case $placement in separate | same) ;; *) die "STORE=$placement: want separate or same" ;; esac
for tool in pgbench psql go python3; do
	command -v $tool >/dev/null || die "$tool not found in PATH"
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found (install GNU time)"

work=$(mktemp -d /tmp/capture-cost.XXXXXX)
chmod 755 "$work"
clusters=() # data directories of the throwaway clusters, stopped on exit
cleanup() {
	for d in "${clusters[@]}"; do PG_DATA=$d pg_stop_throwaway; done
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
	echo "capture-cost: target on the server in PGBENCH_DSN"
else
	pg_start_throwaway "$work/pg-target" $((conns * 2 + 50)) || die "could not start PostgreSQL (or set PGBENCH_DSN)"
	clusters+=("$PG_DATA")
	server=$PG_DSN
	echo "capture-cost: target on $("$PG_BIN/postgres" --version) at ${server%%\?*} (fsync off)"
fi
store_data="" # the store cluster's data directory, when this script runs it
if [ -n "${STORE_DSN:-}" ]; then
	store_server=$STORE_DSN
	echo "capture-cost: store on the server in STORE_DSN"
elif [ "$placement" = same ]; then
	store_server=$server
	[ -n "${PGBENCH_DSN:-}" ] || store_data=$PG_DATA
	echo "capture-cost: store in a second database of the target's server (STORE=same)"
else
	pg_start_throwaway "$work/pg-store" 50 || die "could not start the store's PostgreSQL"
	clusters+=("$PG_DATA")
	store_server=$PG_DSN store_data=$PG_DATA
	echo "capture-cost: store on a second cluster at ${store_server%%\?*} (fsync off)"
fi
target=$(dsn_with_db "$server" capture_cost_target)
store=$(dsn_with_db "$store_server" capture_cost_store)
for pair in "$server capture_cost_target" "$store_server capture_cost_store"; do
	set -- $pair
	PGOPTIONS="-c client_min_messages=warning" psql -q -X "$1" -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >/dev/null ||
		die "cannot create database $2"
done
if [ -n "${UNISTORE_PARAMS:-}" ]; then
	case $target in *\?*) target="$target&$UNISTORE_PARAMS" ;; *) target="$target?$UNISTORE_PARAMS" ;; esac
fi

echo "capture-cost: building unistore"
(cd "$root" && go build -o "$work/unistore" ./cmd/unistore) || die "go build failed"
"$work/unistore" schema apply --store "$store" >"$work/schema.log" 2>&1 || { cat "$work/schema.log" >&2; die "schema apply failed"; }
echo "capture-cost: pgbench -i -s $scale"
pgbench -i -q -s "$scale" "$(dsn_with_db "$server" capture_cost_target)" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "pgbench -i failed"; }

# cluster_ticks DATA prints the CPU clock ticks (user+sys) spent so far by
# the cluster in DATA: its postmaster (with its reaped children) and every
# live child process. Empty when DATA is empty.
cluster_ticks() {
	[ -n "$1" ] || return 0
	python3 - "$1" <<'PY'
import os, sys
pm = int(open(os.path.join(sys.argv[1], "postmaster.pid")).readline())
def stat(pid):
    s = open(f"/proc/{pid}/stat").read()
    return s[s.rindex(")") + 2:].split()  # fields from state (3rd) on
total = 0
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        f = stat(p)
    except OSError:
        continue
    ppid, ut, st, cut, cst = int(f[1]), int(f[11]), int(f[12]), int(f[13]), int(f[14])
    if int(p) == pm:
        total += ut + st + cut + cst
    elif ppid == pm:
        total += ut + st
print(total)
PY
}
hz=$(getconf CLK_TCK)

# One line per run in $results:
# round capture qps stored dropped seconds errors client_cpu_s queries store_cpu_s
results=$work/results.tsv
: >"$results"
run() { # round capture
	local js=$work/r$1-$2.json log=$work/r$1-$2.log tm=$work/r$1-$2.time prof=$work/r$1-$2.pprof t0 t1
	t0=$(cluster_ticks "$store_data")
	(cd "$root" && /usr/bin/time -f "%U %S" -o "$tm" "$work/unistore" run examples/pgbench-select.yaml --target "$target" --store "$store" \
		--connections "$conns" --duration "${duration}s" --capture "$2" --quiet --json "$js" --cpuprofile "$prof") >"$log" 2>&1 ||
		{ cat "$log" >&2; die "unistore failed (round $1, capture $2)"; }
	t1=$(cluster_ticks "$store_data")
	python3 - "$js" "$1" "$2" "$(awk '{print $1 + $2}' "$tm")" "${t0:-}" "${t1:-}" "$hz" >>"$results" <<'PY' || die "cannot parse $js"
import json, sys
r = json.load(open(sys.argv[1]))
s = r.get("store") or {}
w = r.get("warmup") or {}
secs = w.get("seconds", 0) + r["measured_seconds"]
queries = r["total"]["count"] + (w.get("count") or 0)
store_cpu = (int(sys.argv[6]) - int(sys.argv[5])) / int(sys.argv[7]) if sys.argv[5] else -1
print(sys.argv[2], sys.argv[3], r["total"]["qps"], s.get("executions_stored", 0), s.get("executions_dropped", 0),
      secs, r["total"].get("errors", 0), sys.argv[4], queries, store_cpu)
PY
}

# capture_share PROFILE prints the percentage of the profile's samples in
# capture's own code (see the header).
capture_share() {
	(cd "$root" && go tool pprof -top -nodecount=100000 \
		-focus='worker\.\(\*Worker\)\.(stage|flushExecs)|store\.\(\*Writer\[go\.shape\.struct \{ RunID|runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep)' \
		"$work/unistore" "$1" 2>/dev/null) | sed -n 's/^Showing nodes accounting for .*, \([0-9.]*\)% of .* total$/\1/p' | head -1
}

echo "capture-cost: C=$conns, $rounds rounds of ${duration}s per capture mode, alternating${UNISTORE_PARAMS:+, target +$UNISTORE_PARAMS}"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then run "$r" all; run "$r" none; else run "$r" none; run "$r" all; fi
	echo "capture-cost: round $r: $(awk -v r="$r" '$1 == r {printf "%s %.0f QPS %.1f us/q  ", $2, $3, $8 * 1e6 / $9}' "$results")" >&2
done

echo
printf '%5s  %9s  %9s  %9s  %11s  %11s  %9s  %10s  %8s  %14s  %13s\n' round "QPS all" "QPS none" "all/none" "CPU/q all" "CPU/q none" "all/none" "stored/s" dropped "store CPU/row" "capture's own"
qratios=() cratios=() rates=() srow=() shares=()
for r in $(seq 1 "$rounds"); do
	read -r qa sa da secs ea ca na sc < <(awk -v r="$r" '$1 == r && $2 == "all" {print $3, $4, $5, $6, $7, $8, $9, $10}' "$results")
	read -r qn en cn nn < <(awk -v r="$r" '$1 == r && $2 == "none" {print $3, $7, $8, $9}' "$results")
	cqa=$(awk -v c="$ca" -v n="$na" 'BEGIN {printf "%.2f", c * 1e6 / n}')
	cqn=$(awk -v c="$cn" -v n="$nn" 'BEGIN {printf "%.2f", c * 1e6 / n}')
	qratio=$(awk -v a="$qa" -v n="$qn" 'BEGIN {printf "%.3f", a / n}')
	cratio=$(awk -v a="$cqa" -v n="$cqn" 'BEGIN {printf "%.3f", a / n}')
	rate=$(awk -v s="$sa" -v t="$secs" 'BEGIN {printf "%.0f", s / t}')
	per=$(awk -v c="$sc" -v s="$sa" 'BEGIN {if (c < 0 || s == 0) print "n/a"; else printf "%.2f us", c * 1e6 / s}')
	qratios+=("$qratio") cratios+=("$cratio") rates+=("$rate")
	[ "$per" = n/a ] || srow+=("${per% us}")
	share=$(capture_share "$work/r$r-all.pprof")
	[ -n "$share" ] || die "cannot read the CPU profile $work/r$r-all.pprof"
	shares+=("$share")
	printf '%5s  %9.0f  %9.0f  %9s  %8s us  %8s us  %9s  %10s  %8s  %14s  %12s%%\n' "$r" "$qa" "$qn" "$qratio" "$cqa" "$cqn" "$cratio" "$rate" "$da" "$per" "$share"
	[ "$ea" = 0 ] && [ "$en" = 0 ] || echo "capture-cost: warning: round $r had errors (all $ea, none $en)" >&2
done
echo
echo "median capture's own share of the client's CPU (capture all, CPU profile): $(median "${shares[@]}") %   (the capture budget: <= 5 %)"
echo "median client CPU per query all/none: $(median "${cratios[@]}")   (capture's own cost, and what the store's ingest on the same cores does to the client)"
echo "median QPS all/none: $(median "${qratios[@]}")   median executions stored/s (capture all): $(median "${rates[@]}")"
if [ ${#srow[@]} -gt 0 ]; then
	echo "store server CPU per stored execution (median): $(median "${srow[@]}") us   (the store cluster's own ingest, not the client's)"
fi
echo "CPU/q is the unistore process's user+sys over warm-up + measured queries; stored/s counts both phases' executions over both phases' seconds"
echo "$(nproc) CPUs, shared by the client, the target$([ "$placement" = same ] && echo " and the store" || echo ", the store") and whatever else runs here: load $(cut -d' ' -f1-3 /proc/loadavg)"
