#!/usr/bin/env bash
# grpc_health.sh — Health/Check throughput and latency of spacepandad under h2load (make bench).
# For each load shape (connections × concurrent streams per connection): requests/s, p50/p99
# latency from h2load's per-request log, and the daemon's CPU time per request from
# /proc/PID/stat (utime+stime) before and after. Prints figures; never fails on speed.
# Environment: SP_BUILD (default build), BENCH_SCALE (multiplies request counts; default 1).
set -u
cd "$(dirname "$0")/.."
B=${SP_BUILD:-build}
SCALE=${BENCH_SCALE:-1}
command -v h2load >/dev/null || { echo "grpc_health: h2load not installed (nghttp2-client); skipped"; exit 0; }
T=$(mktemp -d /tmp/spbench.XXXXXX)
"$B/spacepandad" --grpc-port 0 --data-dir "$T/data" 2>"$T/d.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$T"' EXIT
# the daemon also listens for P2P links: take the gRPC port from its "gRPC listening on" line
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*rpc: gRPC listening on .*:\([0-9]*\)$/\1/p' "$T/d.log" | head -n 1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "$PORT" ] || { echo "grpc_health: daemon did not start"; cat "$T/d.log"; exit 1; }
"$B/spacepanda" --server "127.0.0.1:$PORT" health >/dev/null || { echo "grpc_health: daemon not SERVING"; exit 1; }

printf '\x00\x00\x00\x00\x00' >"$T/req.bin" # a gRPC frame holding an empty HealthCheckRequest
TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

run() { # connections streams requests
  local c=$1 m=$2 n=$(($3 * SCALE))
  local before after
  # throughput and CPU from a run without h2load's per-request log (writing it slows h2load,
  # which is the bottleneck at 10x10 on two cores); latency from a second run that logs
  before=$(cpu_ticks)
  h2load -n "$n" -c "$c" -m "$m" -t 1 --data="$T/req.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >"$T/h2load.out" 2>&1
  after=$(cpu_ticks)
  local rps ok
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$T/h2load.out")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$T/h2load.out")
  h2load -n "$n" -c "$c" -m "$m" -t 1 --data="$T/req.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers' --log-file="$T/lat.log" \
    "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >/dev/null 2>&1
  read -r p50 p99 < <(awk '{print $3}' "$T/lat.log" | sort -n | awk '{a[NR]=$1} END {
      if (NR == 0) { print "- -"; exit }
      i50 = int(NR * 0.50); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99); if (i99 < 1) i99 = 1;
      print a[i50], a[i99] }')
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v hz="$TCK" -v n="${ok:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "-" }')
  printf '%-8s %9s req/s  p50 %6s us  p99 %6s us  daemon CPU %6s us/req  (%s/%s ok)\n' \
    "${c}x${m}" "${rps:-?}" "$p50" "$p99" "$cpu_us" "${ok:-0}" "$n"
}

echo "Health/Check via h2load on 127.0.0.1 (connections x streams per connection)"
run 1 1 20000
run 10 10 200000
run 50 100 300000
