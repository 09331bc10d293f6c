#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind:
# the one figure on a shared, noisy machine that does not move with what
# else runs (the same binary and load give the same count within ~1%).
# It counts user space only: the kernel's share of a request (most of it,
# on loopback) is the same syscalls for every server here, so this is the
# part the servers differ in. Slower by ~50x under valgrind, which is fine:
# the count is per request, not per second.
#
# Rows, each server with one P / one thread, alone under valgrind:
#   http  gort `hello`, hyper (`examples/peer_hyper.rs`):
#         wrk -t1 -c16 -d${SECS}s http://127.0.0.1:PORT/hello/x
#   echo  gort `c10k --server gort` (the pooled echo) and its floor
#         (`c10k --server floor`, a plain epoll loop): `c10k --client`,
#         100 connections, ${SECS}s
# Each: callgrind's instruction total for the whole run (start-up included;
# it is under 1% of it) divided by the requests the client completed.
#
# Environment: SECS (default 4), PORT (default 28390). Every step is bounded
# by `timeout`; servers are stopped by their PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SECS:-4}
PORT=${PORT:-28390}
NAME=instr.sh
# shellcheck source=benches/lib.sh
source benches/lib.sh
need valgrind wrk

echo "building the release examples..." >&2
timeout 900 cargo build --release --quiet --example hello --example peer_hyper --example c10k
BIN=${CARGO_TARGET_DIR:-target}/release/examples

# grind NAME CMD...: starts CMD under callgrind with one P; sets SERVER_PID.
grind() {
    local name=$1
    shift
    GORT_PROCS=1 timeout 300 valgrind --tool=callgrind --callgrind-out-file="$TMP/$name.out" "$@" \
        >"$TMP/$name.stdout" 2>"$TMP/$name.log" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
}

# finish NAME REQS: stops the server, prints the row.
# A dump is asked for first (callgrind_control, to valgrind, the child of
# `timeout`): valgrind 3.19 here sometimes dies of the server's SIGINT
# without writing its output. A dump zeroes the counters, so the dump and
# the exit file (when there is one) are summed.
finish() {
    local name=$1 reqs=$2 vg ir
    vg=$(pgrep -P "$SERVER_PID" | head -1 || true)
    if [[ -n $vg ]]; then
        timeout 30 callgrind_control -d "$vg" >/dev/null 2>&1 || true
    fi
    kill -INT "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    ir=$(cat "$TMP/$name.out"* 2>/dev/null | awk '/^totals:/ { n += $2 } END { if (n > 0) print n }')
    if [[ -z $ir || -z $reqs || $reqs -eq 0 ]]; then
        echo "instr.sh: $name: no count (valgrind log follows)" >&2
        cat "$TMP/$name.log" >&2
        exit 1
    fi
    printf '%-12s %10d %14d\n' "$name" "$reqs" "$((ir / reqs))"
}

wait_port() {
    for _ in $(seq 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return; fi
        sleep 0.2
    done
    echo "instr.sh: nothing listens on $1" >&2
    exit 1
}

printf '%-12s %10s %14s\n' server requests instr/request
for server in hello peer_hyper; do
    grind "$server" "$BIN/$server" --addr "127.0.0.1:$PORT"
    wait_port "$PORT"
    reqs=$(timeout 60 wrk -t1 -c16 -d"${SECS}s" "http://127.0.0.1:$PORT/hello/x" | awk '/ requests in / { print $1 }')
    finish "$server" "$reqs"
done

for model in gort floor; do
    grind "echo-$model" "$BIN/c10k" --server "$model"
    for _ in $(seq 150); do
        [[ -s $TMP/echo-$model.stdout ]] && break
        sleep 0.2
    done
    addr=$(head -1 "$TMP/echo-$model.stdout")
    reqs=$(timeout 60 "$BIN/c10k" --client --addr "$addr" --conns 100 --secs "$SECS" | tail -1 | awk '{ print $1 }')
    finish "echo-$model" "$reqs"
done
