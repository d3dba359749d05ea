#!/usr/bin/env bash
# cluster.sh — `make cluster` (DESIGN §9): clustered Cadre nodes on the local
# PostgreSQL, by default three, node1–node3 on http://127.0.0.1:8081–8083.
#
#   bash scripts/cluster.sh [-Dmidpoint.key=value ...]
#   PORTS="9001 9002" bash scripts/cluster.sh      # two nodes on 9001, 9002
#   BASE_PORT=9000 bash scripts/cluster.sh         # three nodes on 9001–9003
#
# Extra -D arguments come from the command line and from $ARGS; they are
# passed to every node. Each node's log lines are prefixed with its id. Ctrl-C
# (or SIGTERM to this script) stops the three nodes gracefully (SIGTERM) and
# waits for them.
#
# Environment:
#   PORTS                  space-separated ports, one node per port (node1 on
#                          the first); default "8081 8082 8083"
#   BASE_PORT              instead of PORTS: three nodes on BASE_PORT+1 … +3
#   CADRE_BIN              a built cadre binary to run (default: build bin/cadre)
#   CADRE_CLUSTER_HOME     the nodes' midpoint.home parent (default ./var/cluster)
#   CADRE_ADMIN_PASSWORD   administrator password on an empty repository
#                          (default Secret123!; an existing database keeps its own)
#   CADRE_CLUSTER_DB       database name (default cadre_cluster)
#   CADRE_CLUSTER_PG_HOST  PostgreSQL host (default 127.0.0.1), port 5432,
#                          user postgres with trust authentication
#   CADRE_CLUSTER_FRESH=1  drop the database and the nodes' homes first (a reset)
#   CADRE_CLUSTER_READY_TIMEOUT  seconds to wait for /readyz (default 60)
set -euo pipefail

cd "$(dirname "$0")/.."

DB=${CADRE_CLUSTER_DB:-cadre_cluster}
PG_HOST=${CADRE_CLUSTER_PG_HOST:-127.0.0.1}
PG_PORT=5432
PG_USER=postgres
ADMIN_PASSWORD=${CADRE_ADMIN_PASSWORD:-Secret123!}
READY_TIMEOUT=${CADRE_CLUSTER_READY_TIMEOUT:-60}
HOMES=${CADRE_CLUSTER_HOME:-./var/cluster}
BIN=${CADRE_BIN:-./bin/cadre}
if [[ -n ${PORTS:-} && -n ${BASE_PORT:-} ]]; then
	printf 'cluster: set PORTS or BASE_PORT, not both\n' >&2
	exit 2
fi
if [[ -n ${BASE_PORT:-} ]]; then
	PORT_LIST="$((BASE_PORT + 1)) $((BASE_PORT + 2)) $((BASE_PORT + 3))"
else
	PORT_LIST=${PORTS:-8081 8082 8083}
fi
read -r -a PORTS <<<"$PORT_LIST"
NODES=()
for i in "${!PORTS[@]}"; do
	if ! [[ ${PORTS[$i]} =~ ^[0-9]{1,5}$ ]] || ((10#${PORTS[$i]} < 1 || 10#${PORTS[$i]} > 65535)); then
		printf 'cluster: port %q is not a number from 1 to 65535 (ports: %s)\n' "${PORTS[$i]}" "$PORT_LIST" >&2
		exit 2
	fi
	NODES+=("node$((i + 1))")
done
if ((${#PORTS[@]} == 0)); then
	printf 'cluster: PORTS is empty\n' >&2
	exit 2
fi

# Extra arguments: $ARGS (split on spaces, as make passes it) then "$@".
read -r -a EXTRA <<<"${ARGS:-}"
EXTRA+=("$@")

say() { printf 'cluster: %s\n' "$*" >&2; }

if [[ -z ${CADRE_BIN:-} ]]; then
	say "building bin/cadre (the first build compiles the SQLite driver's C code: minutes)"
	go build -o bin/cadre .
fi

psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -v ON_ERROR_STOP=1 -q "$@"; }

if ! psql_admin -tc 'SELECT 1' >/dev/null; then
	say "PostgreSQL at $PG_HOST:$PG_PORT (user $PG_USER) is unreachable; start it first"
	exit 1
fi
if [[ ${CADRE_CLUSTER_FRESH:-} == 1 ]]; then
	say "dropping database $DB and $HOMES"
	psql_admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
	rm -rf "$HOMES"
fi
if ! psql_admin -tc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
	say "creating database $DB"
	createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB"
fi

PIDS=()
stopping=0

# stop sends SIGTERM to every node still running and waits for them all.
stop() {
	((stopping)) && return
	stopping=1
	trap - INT TERM
	say "stopping ${#PIDS[@]} node(s) (SIGTERM)"
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	say "stopped"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap 'stop' EXIT

# start_node launches node number $1 (0-based) in the background.
start_node() {
	local id=${NODES[$1]} port=${PORTS[$1]}
	mkdir -p "$HOMES/$id"
	# setsid keeps the node out of the terminal's process group, so Ctrl-C
	# reaches only this script, which then sends one SIGTERM (a second signal
	# would cut the node's graceful stop short). The log filter ignores
	# INT/TERM so that it outlives the node's last lines.
	setsid "$BIN" \
		"-Dmidpoint.home=$HOMES/$id" \
		"-Dmidpoint.repository.jdbcUrl=jdbc:postgresql://$PG_HOST:$PG_PORT/$DB" \
		"-Dmidpoint.repository.jdbcUsername=$PG_USER" \
		-Dmidpoint.taskManager.clustered=true \
		-Dmidpoint.taskManager.localNodeClusteringEnabled=true \
		-Dmidpoint.taskManager.nodeRegistrationInterval=1s \
		-Dmidpoint.taskManager.nodeTimeout=5s \
		"-Dmidpoint.administrator.initialPassword=$ADMIN_PASSWORD" \
		"-Dmidpoint.nodeId=$id" \
		"-Dserver.port=$port" \
		${EXTRA[@]+"${EXTRA[@]}"} \
		> >(trap '' INT TERM; exec sed -u "s/^/[$id] /") 2>&1 </dev/null &
	PIDS[$1]=$!
}

# wait_ready waits until node number $1 answers 200 on /readyz.
wait_ready() {
	local url="http://127.0.0.1:${PORTS[$1]}"
	until curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; do
		if ! kill -0 "${PIDS[$1]}" 2>/dev/null; then
			say "${NODES[$1]} exited before it was ready (see its log above)"
			exit 1
		fi
		if ((SECONDS >= deadline)); then
			say "${NODES[$1]} not ready at $url/readyz after ${READY_TIMEOUT}s"
			exit 1
		fi
		sleep 0.2
	done
}

say "waiting up to ${READY_TIMEOUT}s for /readyz on ports ${PORTS[*]}"
deadline=$((SECONDS + READY_TIMEOUT))
# node1 first: on an empty database it creates the schema and the
# administrator, which the others then find in place.
start_node 0
wait_ready 0
for ((i = 1; i < ${#NODES[@]}; i++)); do start_node "$i"; done
for ((i = 1; i < ${#NODES[@]}; i++)); do wait_ready "$i"; done

{
	echo
	echo "Cadre cluster is up (database $DB on $PG_HOST:$PG_PORT):"
	for i in "${!NODES[@]}"; do
		echo "  ${NODES[$i]}  http://127.0.0.1:${PORTS[$i]}/   (API http://127.0.0.1:${PORTS[$i]}/api/v1, UI /ui/)"
	done
	echo "  log in as administrator, password from CADRE_ADMIN_PASSWORD (default Secret123!) on a fresh database"
	echo "  behind nginx on :8080: mkdir -p var/nginx && nginx -p \$PWD/var/nginx -c \$PWD/deploy/nginx.conf"
	echo "  reset everything (database and homes): CADRE_CLUSTER_FRESH=1 make cluster"
	echo "Ctrl-C stops all ${#NODES[@]} gracefully."
	echo
} >&2

# Report nodes that exit on their own (kill -9 for a failover test, say);
# the others keep running until Ctrl-C.
declare -A NAME_OF
for i in "${!PIDS[@]}"; do NAME_OF[${PIDS[$i]}]=${NODES[$i]}; done
running=("${PIDS[@]}")
while ((${#running[@]} > 0)); do
	status=0
	done_pid=
	wait -n -p done_pid "${running[@]}" || status=$?
	[[ -n $done_pid ]] || continue # a trapped signal interrupted wait
	say "${NAME_OF[$done_pid]} exited with status $status"
	left=()
	for pid in "${running[@]}"; do
		[[ $pid == "$done_pid" ]] || left+=("$pid")
	done
	running=(${left[@]+"${left[@]}"})
done
say "all nodes have exited"
