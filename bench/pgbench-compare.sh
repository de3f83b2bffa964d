#!/usr/bin/env bash
# pgbench-compare.sh: unistore against pgbench on the same PostgreSQL, same
# workload (pgbench's select-only transaction, prepared statements).
#
# For each connection count C it runs, alternately and ROUNDS times each,
#   pgbench -n -S -M prepared -c C -j 2 -T DURATION
#   unistore run examples/pgbench-select.yaml --connections C --duration DURATION
# and prints each tool's QPS per round and median, the median of the
# per-round ratios unistore/pgbench, and the client CPU (user+sys, from
# /usr/bin/time) each tool spent per query. See bench/README.md.
#
# Environment (all optional):
#   PGBENCH_DSN     a postgres:// URL of a server to use; the script runs
#                   `pgbench -i -s 10` on it (dropping pgbench's tables)
#                   unless PGBENCH_SKIP_INIT=1. Without it the script starts
#                   a throwaway PostgreSQL under /tmp and stops it on exit.
#   ROUNDS          rounds per connection count (default 2)
#   DURATION        seconds per run (default 15; "15s" is accepted)
#   CONNS           connection counts (default "4 16 64")
#   UNISTORE_PARAMS extra DSN parameters for unistore only, e.g.
#                   "statement_mode=extended" (default none)
#   UNISTORE_VARIANTS several unistore configurations raced in the same
#                   rounds, space-separated DSN parameter sets (each added
#                   to UNISTORE_PARAMS), e.g. "engine=epoll engine=goroutine";
#                   each gets its own rows, named after its parameters
#   UNISTORE_CAPTURE unistore's --capture (default: the CLI's default); runs
#                   are recorded in a throwaway SQLite store either way
#   KEEP_OUTPUT=1   keep the per-run logs and JSON (their directory is printed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
rounds=${ROUNDS:-2}
duration=${DURATION:-15}
duration=${duration%s}
conns=${CONNS:-4 16 64}
scale=10 # examples/pgbench-select.yaml draws aid from 1..1000000: scale 10

die() { echo "pgbench-compare: $*" >&2; exit 1; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$rounds: want a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION=$duration: want whole seconds"
command -v pgbench >/dev/null || die "pgbench not found in PATH (install the PostgreSQL client tools)"
command -v go >/dev/null || die "go not found in PATH"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (install GNU time)"

work=$(mktemp -d /tmp/pgbench-compare.XXXXXX)
chmod 755 "$work"
pg_cleanup() { :; }
cleanup() {
	pg_cleanup
	if [ "${KEEP_OUTPUT:-}" = 1 ]; then
		echo "pgbench-compare: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${PGBENCH_DSN:-}" ]; then
	dsn=$PGBENCH_DSN
	case $dsn in postgres://* | postgresql://*) ;; *) die "PGBENCH_DSN must be a postgres:// URL (unistore picks its driver by scheme)" ;; esac
	echo "pgbench-compare: using the server in PGBENCH_DSN"
else
	pg_start_throwaway "$work/pg" 200 || die "could not start PostgreSQL: install PostgreSQL 15 or set PGBENCH_DSN"
	pg_cleanup() { pg_stop_throwaway; }
	dsn=$PG_DSN
	echo "pgbench-compare: started $("$PG_BIN/postgres" --version) at $dsn (fsync off, max_connections 200)"
fi

echo "pgbench-compare: building unistore"
(cd "$root" && go build -o "$work/unistore" ./cmd/unistore) || die "go build failed"
# unistore records every run in a results store: give it a throwaway one.
ustore=sqlite://$work/unistore.db
"$work/unistore" schema apply --store "$ustore" >"$work/schema.log" 2>&1 || { cat "$work/schema.log" >&2; die "unistore schema apply failed"; }
capture=${UNISTORE_CAPTURE:-}

if [ "${PGBENCH_SKIP_INIT:-}" != 1 ]; then
	echo "pgbench-compare: pgbench -i -s $scale"
	pgbench -i -q -s "$scale" "$dsn" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "pgbench -i failed"; }
fi

# with_params DSN PARAMS prints DSN with the &-separated PARAMS added.
with_params() {
	[ -n "$2" ] || { echo "$1"; return; }
	case $1 in *\?*) echo "$1&$2" ;; *) echo "$1?$2" ;; esac
}
udsn=$(with_params "$dsn" "${UNISTORE_PARAMS:-}")
# The unistore variants: their tool names in the table, and their DSNs.
variants=(${UNISTORE_VARIANTS:-})
tools=() vdsn=()
if [ ${#variants[@]} -eq 0 ]; then
	tools=(unistore) vdsn=("$udsn")
else
	for v in "${variants[@]}"; do
		tools+=("$v") vdsn+=("$(with_params "$udsn" "$v")")
	done
fi

# One line per run in $results: C tool round qps cpu_seconds queries.
results=$work/results.tsv
: >"$results"

run_pgbench() { # C round
	local log=$work/pgbench-c$1-r$2.log tm=$work/pgbench-c$1-r$2.time
	/usr/bin/time -f "%U %S" -o "$tm" pgbench -n -S -M prepared -c "$1" -j 2 -T "$duration" "$dsn" >"$log" 2>&1 ||
		{ cat "$log" >&2; die "pgbench failed (C=$1)"; }
	local qps n
	qps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log" | head -1)
	n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
	[ -n "$qps" ] && [ -n "$n" ] || { cat "$log" >&2; die "cannot parse pgbench output (C=$1)"; }
	echo "$1 pgbench $2 $qps $(awk '{print $1 + $2}' "$tm") $n" >>"$results"
}

run_unistore() { # C round variant-index
	local tool=${tools[$3]} target=${vdsn[$3]}
	local log=$work/unistore-c$1-r$2-v$3.log tm=$work/unistore-c$1-r$2-v$3.time js=$work/unistore-c$1-r$2-v$3.json
	(cd "$root" && /usr/bin/time -f "%U %S" -o "$tm" "$work/unistore" run examples/pgbench-select.yaml \
		--target "$target" --connections "$1" --duration "${duration}s" --quiet --json "$js" \
		--store "$ustore" ${capture:+--capture "$capture"}) >"$log" 2>&1 ||
		{ cat "$log" >&2; die "unistore failed (C=$1)"; }
	# Every query the process ran: warm-up plus measurement.
	local line
	line=$(python3 - "$js" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["total"]
w = r.get("warmup") or {}
print(t["qps"], t["count"] + (w.get("count") or 0), t.get("errors", 0) or 0)
PY
	) || die "cannot parse $js"
	set -- "$1" "$2" $line
	[ "$5" = 0 ] || echo "pgbench-compare: warning: $tool C=$1 round $2: $5 errors" >&2
	echo "$1 $tool $2 $3 $(awk '{print $1 + $2}' "$tm") $4" >>"$results"
}

command -v python3 >/dev/null || die "python3 not found (used to read unistore's JSON)"
echo "pgbench-compare: C in {$conns}, $rounds rounds of ${duration}s per tool, alternating${GOMAXPROCS:+, GOMAXPROCS=$GOMAXPROCS}${UNISTORE_PARAMS:+, unistore DSN +$UNISTORE_PARAMS}${UNISTORE_VARIANTS:+, variants: $UNISTORE_VARIANTS}; load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $conns; do
	for r in $(seq 1 "$rounds"); do
		# Alternate which tool goes first, so a drift in the machine's load
		# does not always favour the same one.
		if [ $((r % 2)) = 1 ]; then
			run_pgbench "$c" "$r"
			for ((v = 0; v < ${#tools[@]}; v++)); do run_unistore "$c" "$r" "$v"; done
		else
			for ((v = ${#tools[@]} - 1; v >= 0; v--)); do run_unistore "$c" "$r" "$v"; done
			run_pgbench "$c" "$r"
		fi
		echo "pgbench-compare: C=$c round $r: $(awk -v c="$c" -v r="$r" '$1 == c && $3 == r {printf "%s %.0f QPS  ", $2, $4}' "$results")" >&2
	done
done

echo
awk -v rounds="$rounds" -v nproc="$(nproc)" -v unistores="${tools[*]}" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
	c = $1; tool = $2; r = $3
	qps[c, tool, r] = $4; us[c, tool, r] = $5 * 1e6 / $6
	if (!(c in seen)) { seen[c] = 1; order[++nc] = c }
}
END {
	nu = split(unistores, us_tools, " ")
	w = 9
	for (t = 1; t <= nu; t++) if (length(us_tools[t]) + 8 > w) w = length(us_tools[t]) + 8
	hdr = sprintf("%5s  %-" w "s", "C", "tool")
	for (r = 1; r <= rounds; r++) hdr = hdr sprintf("  %9s", "round " r)
	hdr = hdr sprintf("  %9s  %12s", "median", "CPU us/query")
	print hdr
	for (i = 1; i <= nc; i++) {
		c = order[i]
		ntools = split("pgbench " unistores, tools, " ")
		for (t = 1; t <= ntools; t++) {
			tool = tools[t]; line = sprintf("%5s  %-" w "s", c, tool)
			for (r = 1; r <= rounds; r++) { line = line sprintf("  %9.0f", qps[c, tool, r]); q[r] = qps[c, tool, r]; u[r] = us[c, tool, r] }
			line = line sprintf("  %9.0f  %12.1f", median(q, rounds), median(u, rounds))
			print line
		}
		for (t = 1; t <= nu; t++) {
			tool = us_tools[t]
			line = sprintf("%5s  %-" w "s", c, nu == 1 ? "ratio" : tool "/pgbench")
			for (r = 1; r <= rounds; r++) { q[r] = qps[c, tool, r] / qps[c, "pgbench", r]; line = line sprintf("  %9.2f", q[r]) }
			for (r = 1; r <= rounds; r++) u[r] = us[c, tool, r] / us[c, "pgbench", r]
			ratio[i, t] = median(q, rounds)
			line = line sprintf("  %9.2f  %12.2f", ratio[i, t], median(u, rounds))
			print line
		}
	}
	print ""
	for (t = 1; t <= nu; t++) {
		s = "ratio " us_tools[t] "/pgbench (median of per-round QPS ratios):"
		for (i = 1; i <= nc; i++) s = s sprintf("  C=%s %.2f", order[i], ratio[i, t])
		print s
	}
	printf "CPU us/query is the client process'"'"'s user+sys CPU over the queries it ran (%d CPUs here, shared with the server; load at the end %s)\n", nproc, load
}' "$results"
