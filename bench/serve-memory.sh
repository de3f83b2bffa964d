#!/usr/bin/env bash
# serve-memory.sh: the memory of a `unistore serve` process after RUNS runs
# (default 10) started through its API, one after the other, each at the
# peak QPS of examples/quickstart.yaml on an embedded SQLite target (closed
# loop, 4 connections), with worker processes (serve's default; --in-process
# with IN_PROCESS=1).
#
# It prints, before the first run and after each one, the serve process's
# resident set (VmRSS) and its peak (VmHWM) from /proc, and the Go heap in
# use and goroutines as its own /metrics reports them (the process
# collectors).
#
# Environment (all optional):
#   RUNS        runs (default 10)
#   DURATION    measurement seconds per run (default 5)
#   IN_PROCESS=1  workers as goroutines of the serve process
#   KEEP_OUTPUT=1 keep the work directory (its path is printed)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${RUNS:-10}
duration=${DURATION:-5}
duration=${duration%s}
die() { echo "serve-memory: $*" >&2; exit 1; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS=$runs: want a positive integer"
[[ $duration =~ ^[1-9][0-9]*$ ]] || die "DURATION=$duration: want whole seconds"
for tool in go curl python3; do
	command -v $tool >/dev/null || die "$tool not found in PATH"
done

work=$(mktemp -d /tmp/serve-memory.XXXXXX)
serve_pid=""
cleanup() {
	if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
	if [ "${KEEP_OUTPUT:-}" = 1 ]; then echo "serve-memory: output kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/unistore" ./cmd/unistore)
store="sqlite://$work/store.db"
"$work/unistore" schema apply --store "$store" >/dev/null
# quickstart creates the target (100k accounts); its own short run goes to a
# store of its own.
"$work/unistore" quickstart --db "$work/target.db" --duration 1s --store "sqlite://$work/setup.db" >/dev/null 2>&1

flags=()
[ "${IN_PROCESS:-}" = 1 ] && flags+=(--in-process)
"$work/unistore" serve --listen 127.0.0.1:0 --store "$store" "${flags[@]}" >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
addr=""
for _ in $(seq 100); do
	addr=$(sed -n 's/.*"serve: listening" addr=\([^ ]*\).*/\1/p' "$work/serve.err" | head -1)
	[ -n "$addr" ] && break
	kill -0 "$serve_pid" 2>/dev/null || die "serve exited: $(cat "$work/serve.err")"
	sleep 0.1
done
[ -n "$addr" ] || die "serve did not report its address"
base="http://$addr"

spec=$(python3 - "$root/examples/quickstart.yaml" "$work/target.db" "$duration" <<'PY'
import json, sys
print(json.dumps({"spec_yaml": open(sys.argv[1]).read(), "target": "sqlite://" + sys.argv[2],
                  "connections": 4, "warmup": "1s", "duration": sys.argv[3] + "s", "capture": "none"}))
PY
)

report() { # label qps
	local rss hwm heap gor
	rss=$(awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$serve_pid/status")
	hwm=$(awk '/^VmHWM:/{printf "%.1f", $2/1024}' "/proc/$serve_pid/status")
	read -r heap gor < <(curl -sf "$base/metrics" | awk '/^go_memstats_heap_inuse_bytes /{h=$2} /^go_goroutines /{g=$2} END{printf "%.1f %d\n", h/1048576, g}')
	printf "%-8s %10s %10s %10s %10s %10s\n" "$1" "$2" "$rss" "$hwm" "$heap" "$gor"
}

printf "%-8s %10s %10s %10s %10s %10s\n" run qps rss-MB peak-MB heap-MB goroutines
report start -
for i in $(seq "$runs"); do
	id=$(curl -sf -XPOST "$base/api/v1/runs" -H 'Content-Type: application/json' -d "$spec" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')
	qps=""
	for _ in $(seq $((duration * 5 + 300))); do
		# The list (one row per run, the summary once stored), not the run
		# itself: that one is recomputed from every snapshot at each call.
		out=$(curl -sf "$base/api/v1/runs?limit=1")
		status=$(python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print(r["status"], round(r.get("qps", 0)))' <<<"$out")
		case $status in
		COMPLETED*|CANCELLED*|FAILED*) qps=${status#* }; break ;;
		esac
		sleep 0.2
	done
	[ -n "$qps" ] || die "run $id did not end"
	report "$i" "$qps"
done
