#!/usr/bin/env bash
# verdict-rates.sh: how often `unistore runs compare --verdict` is right on
# this machine, on PostgreSQL.
#
#   false-regression rate: PAIRS pairs of runs of one template (SELECT
#     pg_sleep(0.002)); a pair counts as a false regression when the verdict
#     says REGRESSION for any figure (the command exits 1).
#   detection rate: PAIRS pairs where the second run's statement is 30 %
#     slower (pg_sleep(0.0026)); detected when the verdict says REGRESSION
#     (exit 1). Per-figure counts are printed too (total qps, p50, p99).
#
# Runs alternate: base then new, then the next pair. Each run is closed
# loop, C connections, WARMUP + DURATION seconds; the store is a SQLite file
# in a temporary directory. Every pair is judged by each of METHODS (95 %
# CI over per-second figures, threshold THRESHOLD), so the methods are
# compared on the same runs.
#
# Environment:
#   PG_DSN      a postgres:// URL of the target (required; any database:
#               pg_sleep needs no table)
#   PAIRS       pairs per experiment (default 10)
#   C           connections (default 4)
#   WARMUP      warm-up seconds (default 2)
#   DURATION    measured seconds per run (default 8)
#   THRESHOLD   the verdict's threshold (default 5%)
#   METHODS     the verdict methods (default "block-bootstrap bootstrap
#               mannwhitney"; block-bootstrap is the default verdict)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pairs=${PAIRS:-10}
conns=${C:-4}
warmup=${WARMUP:-2}
duration=${DURATION:-8}
threshold=${THRESHOLD:-5%}
methods=${METHODS:-block-bootstrap bootstrap mannwhitney}
die() { echo "verdict-rates: $*" >&2; exit 1; }
[ -n "${PG_DSN:-}" ] || die "set PG_DSN to a postgres:// URL of the target"
[[ $pairs =~ ^[1-9][0-9]*$ ]] || die "PAIRS=$pairs: want a positive integer"
command -v python3 >/dev/null || die "python3 not found"

work=$(mktemp -d /tmp/verdict-rates.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/unistore
(cd "$root" && go build -o "$bin" ./cmd/unistore)
store="sqlite://$work/store.db"
"$bin" schema apply --store "$store" >/dev/null

template() { # NAME SLEEP
	cat >"$work/$1.yaml" <<YAML
name: verdict-$1
target: {dsn: "$PG_DSN"}
connections: $conns
warmup: ${warmup}s
duration: ${duration}s
capture: none
workload:
  operations:
    - name: sleep
      sql: SELECT pg_sleep($2) WHERE ? > 0
      params: [{gen: uniform, min: 1, max: 10}]
YAML
}
template base 0.002
template slow 0.0026

run() { # TEMPLATE → run id
	"$bin" run "$work/$1.yaml" --store "$store" -q --json "$work/r.json" >/dev/null 2>"$work/run.log" ||
		{ cat "$work/run.log" >&2; die "run $1 failed"; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$work/r.json"
}

# verdict BASE NEW METHOD → "EXIT qps p50 p99" verdicts of the total
verdict() {
	set +e
	"$bin" runs compare "$1" "$2" --verdict --method "$3" --threshold "$threshold" --json --store "$store" >"$work/v.json" 2>/dev/null
	local code=$?
	set -e
	python3 - "$work/v.json" "$code" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
v = {f["figure"]: f for f in rep["figures"] if f["scope"] == "total"}
print(sys.argv[2], " ".join("%s:%s(%+.1f%%)" % (k, v[k]["verdict"].replace(" ", "_"), 100 * v[k]["change"]["estimate"]) for k in ("qps", "p50_ms", "p99_ms")))
PY
}

experiment() { # NAME NEW_TEMPLATE
	local -A flagged=() q=() p50=() p99=()
	local m
	for m in $methods; do flagged[$m]=0 q[$m]=0 p50[$m]=0 p99[$m]=0; done
	for i in $(seq 1 "$pairs"); do
		local a b line
		a=$(run base)
		b=$(run "$2")
		for m in $methods; do
			line=$(verdict "$a" "$b" "$m")
			echo "$1 pair $i $m: exit $line"
			[ "${line%% *}" = 1 ] && flagged[$m]=$((flagged[$m] + 1))
			[[ $line == *qps:REGRESSION* ]] && q[$m]=$((q[$m] + 1))
			[[ $line == *p50_ms:REGRESSION* ]] && p50[$m]=$((p50[$m] + 1))
			[[ $line == *p99_ms:REGRESSION* ]] && p99[$m]=$((p99[$m] + 1))
		done
	done
	for m in $methods; do
		echo "$1 $m: REGRESSION in ${flagged[$m]} of $pairs pairs (by figure: qps ${q[$m]}, p50 ${p50[$m]}, p99 ${p99[$m]})"
	done
}

echo "verdict-rates: $pairs pairs each, $conns connections, ${warmup}s + ${duration}s per run, threshold $threshold, methods: $methods"
experiment same base
experiment slow slow
