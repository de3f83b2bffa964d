# bench/lib.sh: shared helpers of the bench/ scripts. Source it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# It defines functions only; it sets no shell options and no traps.

# pg_bin_dir prints the directory of initdb and pg_ctl (PATH first, then
# /usr/lib/postgresql/*/bin), or nothing.
pg_bin_dir() {
	if command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
		return
	fi
	local d found=""
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && found=$d
	done
	[ -n "$found" ] && echo "$found"
}

# pg_start_throwaway DIR MAX_CONNECTIONS starts a PostgreSQL cluster in DIR
# (as the postgres OS user when run as root) on a random loopback port,
# tuned for benchmarks (fsync off), and sets:
#   PG_DSN   postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
#   PG_BIN   the binaries' directory
#   PG_DATA  the data directory
# Stop it with pg_stop_throwaway (put that in the caller's EXIT trap).
# It returns non-zero, with the server's log on stderr, on failure.
pg_start_throwaway() {
	local dir=$1 maxconn=${2:-200} port
	PG_BIN=$(pg_bin_dir) || true
	if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
		echo "lib.sh: initdb/pg_ctl not found: install PostgreSQL" >&2
		return 1
	fi
	mkdir -p "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$dir"
	fi
	PG_DATA=$dir/data
	port=$((20000 + RANDOM % 20000))
	_pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; echo "lib.sh: initdb failed" >&2; return 1; }
	cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = $maxconn
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ cat "$dir/server.log" >&2; echo "lib.sh: PostgreSQL failed to start" >&2; return 1; }
	PG_DSN="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
}

# pg_stop_throwaway stops the cluster pg_start_throwaway started, if any.
pg_stop_throwaway() {
	[ -n "${PG_DATA:-}" ] || return 0
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
}

_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# dsn_with_db DSN DB prints DSN with its database replaced by DB.
dsn_with_db() {
	local dsn=$1 db=$2 base query=""
	case $dsn in *\?*) query="?${dsn#*\?}" ;; esac
	base=${dsn%%\?*}
	echo "${base%/*}/$db$query"
}

# median prints the median of its numeric arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}
