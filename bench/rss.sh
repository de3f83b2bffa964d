#!/usr/bin/env bash
# rss.sh: does unistore's memory stay flat over a long peak run?
#
# Runs examples/pgbench-select.yaml at C connections for DURATION seconds
# (closed loop: as fast as the server answers) with --capture CAPTURE into
# a results store on a second cluster, samples the process's resident set
# (VmRSS, and VmHWM, its peak) every STEP seconds, and prints the samples
# and the RSS at the marks (default 1 and 10 minutes) with the growth
# between them.
#
# Environment (all optional):
#   PGBENCH_DSN   a postgres:// URL of a server for the target (superuser);
#                 without it a throwaway PostgreSQL under /tmp
#   STORE_DSN     a postgres:// URL for the store (superuser); without it a
#                 second throwaway cluster
#   C             connections (default 16)
#   DURATION      measurement seconds (default 600)
#   CAPTURE       --capture (default all)
#   STEP          seconds between samples (default 10)
#   MARKS         seconds at which to report RSS (default "60 600")
#   UNISTORE_PARAMS extra target DSN parameters, e.g. "engine=goroutine"
#   KEEP_OUTPUT=1 keep the logs (their directory is printed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
conns=${C:-16}
duration=${DURATION:-600}
duration=${duration%s}
capture=${CAPTURE:-all}
step=${STEP:-10}
marks=${MARKS:-60 600}
scale=10

die() { echo "rss: $*" >&2; exit 1; }
[[ $conns =~ ^[1-9][0-9]*$ ]] || die "C=$conns: want a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION=$duration: want whole seconds"
[[ $step =~ ^[1-9][0-9]*$ ]] || die "STEP=$step: want whole seconds"
for tool in pgbench psql go python3; do
	command -v $tool >/dev/null || die "$tool not found in PATH"
done

work=$(mktemp -d /tmp/rss.XXXXXX)
chmod 755 "$work"
clusters=()
upid=""
cleanup() {
	[ -z "$upid" ] || kill "$upid" 2>/dev/null || true
	for d in "${clusters[@]}"; do PG_DATA=$d pg_stop_throwaway; done
	if [ "${KEEP_OUTPUT:-}" = 1 ]; then echo "rss: logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${PGBENCH_DSN:-}" ]; then
	server=$PGBENCH_DSN
else
	pg_start_throwaway "$work/pg-target" $((conns * 2 + 50)) || die "could not start PostgreSQL (or set PGBENCH_DSN)"
	clusters+=("$PG_DATA")
	server=$PG_DSN
fi
if [ -n "${STORE_DSN:-}" ]; then
	store_server=$STORE_DSN
else
	pg_start_throwaway "$work/pg-store" 50 || die "could not start the store's PostgreSQL"
	clusters+=("$PG_DATA")
	store_server=$PG_DSN
fi
target=$(dsn_with_db "$server" rss_target)
store=$(dsn_with_db "$store_server" rss_store)
for pair in "$server rss_target" "$store_server rss_store"; do
	set -- $pair
	PGOPTIONS="-c client_min_messages=warning" psql -q -X "$1" -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >/dev/null ||
		die "cannot create database $2"
done
pgbench -i -q -s "$scale" "$target" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "pgbench -i failed"; }
if [ -n "${UNISTORE_PARAMS:-}" ]; then
	case $target in *\?*) target="$target&$UNISTORE_PARAMS" ;; *) target="$target?$UNISTORE_PARAMS" ;; esac
fi
(cd "$root" && go build -o "$work/unistore" ./cmd/unistore) || die "go build failed"
"$work/unistore" schema apply --store "$store" >"$work/schema.log" 2>&1 || { cat "$work/schema.log" >&2; die "schema apply failed"; }

echo "rss: C=$conns, ${duration}s, capture $capture, sampling every ${step}s${UNISTORE_PARAMS:+, target +$UNISTORE_PARAMS}; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
(cd "$root" && exec "$work/unistore" run examples/pgbench-select.yaml --target "$target" --store "$store" \
	--connections "$conns" --duration "${duration}s" --capture "$capture" --quiet --json "$work/run.json") >"$work/run.log" 2>&1 &
upid=$!
start=$(date +%s)
samples=$work/samples.tsv
: >"$samples"
printf '%8s  %10s  %10s\n' seconds "RSS MiB" "peak MiB"
while kill -0 "$upid" 2>/dev/null; do
	sleep "$step"
	st=/proc/$upid/status
	[ -r "$st" ] || break
	rss=$(awk '/^VmRSS:/ {print $2}' "$st" 2>/dev/null) || break
	hwm=$(awk '/^VmHWM:/ {print $2}' "$st" 2>/dev/null) || break
	[ -n "$rss" ] || break
	t=$(($(date +%s) - start))
	echo "$t $rss $hwm" >>"$samples"
	printf '%8d  %10.1f  %10.1f\n' "$t" "$(echo "$rss / 1024" | bc -l)" "$(echo "$hwm / 1024" | bc -l)"
done
wait "$upid" || { cat "$work/run.log" >&2; die "unistore failed"; }
upid=""
python3 - "$samples" "$work/run.json" $marks <<'PY'
import json, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
r = json.load(open(sys.argv[2]))
marks = [int(m) for m in sys.argv[3:]]
print()
print(f"run: {r['total']['count']} measured queries, {r['total']['qps']:.0f} QPS; warm-up included in the elapsed seconds")
got = []
for m in marks:
    # the sample nearest the mark (elapsed time from the process start, warm-up included)
    s = min(rows, key=lambda x: abs(x[0] - m)) if rows else None
    if s:
        got.append(s)
        print(f"RSS at ~{m}s (sample at {s[0]}s): {s[1]/1024:.1f} MiB (peak so far {s[2]/1024:.1f} MiB)")
if len(got) >= 2 and got[0][1]:
    a, b = got[0], got[-1]
    print(f"growth {a[0]}s -> {b[0]}s: {(b[1]-a[1])/1024:+.1f} MiB ({(b[1]/a[1]-1)*100:+.1f} %)")
PY
