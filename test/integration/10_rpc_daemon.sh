#!/usr/bin/env bash
# 10_rpc_daemon.sh — the daemon as a process: its flags (--help, --version, validation, positional
# PORT, GRPC_PORT, --grpc-port 0, --data-dir and the default data directory), the spacepanda CLI
# (health, exit codes), systemd notify (READY=1, STOPPING=1 on NOTIFY_SOCKET), grpc-timeout
# honoured by the server (nghttp), garbage on the port, and SIGINT/SIGTERM graceful exit 0.
set -u
cd "$(dirname "$0")/../.."
B=${SP_BUILD:-build}
D=$B/spacepandad
CLI=$B/spacepanda
PY=${PYTHON:-/usr/bin/python3}
T=$(mktemp -d /tmp/sp10sh.XXXXXX)
pass=0 fail=0
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

ok() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }
is() { # want got what
  if [ "$1" = "$2" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $3: want '$1' got '$2'"; fi
}

# start_daemon LOG ARGS... : starts in the background, sets PID and PORT (from the log line)
start_daemon() {
  local log=$1; shift
  "$D" "$@" 2>"$log" &
  PID=$!
  pids+=("$PID")
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$log" | head -n1)
    [ -n "$PORT" ] && return 0
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

stop_daemon() { # signal → sets RC to the exit code
  kill -"$1" "$PID"
  wait "$PID"; RC=$?
}

no_sanitizer_reports() { ! grep -qE 'Sanitizer|runtime error' "$1"; }

# ---- flags ----------------------------------------------------------------------------------
"$D" --help >"$T/help" 2>&1; is 0 $? "--help exits 0"
for f in --grpc-addr --grpc-port --p2p-port --data-dir --peer --log-level --max-recv-bytes --version; do
  ok grep -q -- "$f" "$T/help"
done
is "spacepandad 0.1.0" "$("$D" --version)" "--version"
"$D" --peer /ip4/1.2.3.4/udp/5 2>"$T/err"; is 2 $? "bad --peer exits 2"
ok grep -q multiaddr "$T/err"
"$D" --grpc-port 70000 2>/dev/null; is 2 $? "bad --grpc-port exits 2"
"$D" --p2p-port x 2>/dev/null; is 2 $? "bad --p2p-port exits 2"
"$D" --log-level loud 2>/dev/null; is 2 $? "bad --log-level exits 2"
"$D" --bogus 2>/dev/null; is 2 $? "unknown flag exits 2"
"$D" 12x 2>/dev/null; is 2 $? "bad positional PORT exits 2"
GRPC_PORT=abc "$D" 2>/dev/null; is 2 $? "bad GRPC_PORT exits 2"

"$D" --peer /ip4/1.2.3.4/tcp/5/p2p/nothex 2>/dev/null; is 2 $? "bad peer id exits 2"
PEERID=$(printf 'ab%.0s' $(seq 32))

# a port that is taken: clear error, exit 1
start_daemon "$T/a.log" --grpc-port 0 --data-dir "$T/a" --peer /ip4/127.0.0.1/tcp/40001 \
  --peer /ip6/::1/tcp/40002/p2p/$PEERID --p2p-port 0 --log-level debug --max-recv-bytes 1000
ok test -n "$PORT"
ok test -d "$T/a"
is 700 "$(stat -c %a "$T/a")" "data dir is private"
"$D" --grpc-port "$PORT" --data-dir "$T/b" 2>"$T/b.log"; is 1 $? "port in use exits 1"
ok grep -q "cannot listen" "$T/b.log"

# ---- CLI -----------------------------------------------------------------------------------------
is SERVING "$("$CLI" --server "127.0.0.1:$PORT" health)" "CLI health prints SERVING"
"$CLI" --server "127.0.0.1:$PORT" health >/dev/null; is 0 $? "CLI health exits 0"
SPACEPANDA_SERVER="127.0.0.1:$PORT" "$CLI" health grpc.health.v1.Health >/dev/null; is 0 $? "SPACEPANDA_SERVER"
"$CLI" --server "127.0.0.1:$PORT" health no.Such 2>"$T/err"; is 1 $? "unknown service exits 1"
ok grep -q NOT_FOUND "$T/err"
"$CLI" --server 127.0.0.1:1 health 2>"$T/err"; is 3 $? "unreachable daemon exits 3"
ok grep -q UNAVAILABLE "$T/err"
"$CLI" --server nonsense health 2>/dev/null; rc=$?; ok test "$rc" -ne 0
"$CLI" bogus 2>/dev/null; is 2 $? "unknown command exits 2"
"$CLI" --help | grep -q health; is 0 $? "CLI --help lists health"

# --max-recv-bytes 1000 is in force: a 2000-byte request is RESOURCE_EXHAUSTED
printf '\x00\x00\x00\x07\xd0' >"$T/big.bin"
head -c 2000 /dev/zero >>"$T/big.bin"
nghttp -v --no-dep -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
  -d "$T/big.bin" "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >"$T/n1" 2>&1
ok grep -q 'grpc-status: 8' "$T/n1"

# grpc-timeout already expired: the server itself answers DEADLINE_EXCEEDED (4)
printf '\x00\x00\x00\x00\x00' >"$T/empty.bin"
nghttp -v --no-dep -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
  -H 'grpc-timeout: 0m' -d "$T/empty.bin" "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >"$T/n2" 2>&1
ok grep -q 'grpc-status: 4' "$T/n2"
# and a sane one is served, with the Trailers-Only shape absent (headers, data, trailers)
nghttp -v --no-dep -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
  -H 'grpc-timeout: 5S' -d "$T/empty.bin" "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >"$T/n3" 2>&1
ok grep -q 'grpc-status: 0' "$T/n3"
ok grep -q 'recv DATA frame' "$T/n3"
# not gRPC at all: HTTP 415 (wrong content-type)
nghttp -v --no-dep -H ':method: POST' -d "$T/empty.bin" "http://127.0.0.1:$PORT/grpc.health.v1.Health/Check" >"$T/n4" 2>&1
ok grep -q ':status: 415' "$T/n4"

# garbage bytes: that connection closes, the daemon keeps serving
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
printf 'this is not HTTP/2 at all\r\n\r\n' >&7
timeout 5 cat <&7 >/dev/null; is 0 $? "garbage: the server closed the connection"
exec 7>&-
"$CLI" --server "127.0.0.1:$PORT" health >/dev/null; is 0 $? "serves after garbage"
stop_daemon INT; is 0 "$RC" "SIGINT exits 0"
ok grep -q "SIGINT: shutting down" "$T/a.log"
ok no_sanitizer_reports "$T/a.log"

# ---- out of file descriptors: accepting pauses (no spin), serving resumes when they free up ------
cat >"$T/fds.py" <<'EOF'
import socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
def ticks():
    with open("/proc/%s/stat" % pid) as f:
        p = f.read().rsplit(")", 1)[1].split()
    return int(p[11]) + int(p[12])
socks = []
for _ in range(120):
    s = socket.socket()
    s.settimeout(2)
    s.connect(("127.0.0.1", port))
    socks.append(s)
time.sleep(0.3)
t0 = ticks()
time.sleep(1.0)
spent = ticks() - t0
for s in socks:
    s.close()
print(spent)
EOF
(ulimit -n 64; exec "$D" --grpc-port 0 --data-dir "$T/fd" 2>"$T/fd.log") &
PID=$!
pids+=("$PID")
PORT=
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$T/fd.log" | head -n1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
ok test -n "$PORT"
spent=$("$PY" "$T/fds.py" "$PORT" "$PID"); echo "spent=$spent" >&2
ok test "${spent:-999}" -lt 30
ok grep -q "accept failed" "$T/fd.log"
sleep 0.3
"$CLI" --server "127.0.0.1:$PORT" health >/dev/null; is 0 $? "serves again once descriptors free up"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"

# ---- port selection: positional PORT and GRPC_PORT ------------------------------------------
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(free_port)
start_daemon "$T/c.log" --data-dir "$T/c" "$P1"; is "$P1" "$PORT" "positional PORT"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"
P2=$(free_port)
GRPC_PORT=$P2 start_daemon "$T/d.log" --data-dir "$T/d"; is "$P2" "$PORT" "GRPC_PORT"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"
P3=$(free_port)
GRPC_PORT=1 start_daemon "$T/e.log" --data-dir "$T/e" --grpc-port "$P3" 2; is "$P3" "$PORT" "--grpc-port wins"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"

# ---- default data directory, and systemd notify ----------------------------------------------
mkdir -p "$T/home"
cat >"$T/notify.py" <<'EOF'
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as out:
    for _ in range(2):
        try:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
        except socket.timeout:
            break
EOF
"$PY" "$T/notify.py" "$T/notify.sock" "$T/notify.out" &
NPID=$!
pids+=("$NPID")
for _ in $(seq 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
HOME=$T/home XDG_DATA_HOME= NOTIFY_SOCKET=$T/notify.sock start_daemon "$T/f.log" --grpc-port 0
ok test -d "$T/home/.local/share/spacepanda"
for _ in $(seq 50); do grep -q READY=1 "$T/notify.out" 2>/dev/null && break; sleep 0.05; done
ok grep -q READY=1 "$T/notify.out"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"
wait "$NPID"
ok grep -q STOPPING=1 "$T/notify.out"
XDG_DATA_HOME=$T/xdg start_daemon "$T/g.log" --grpc-port 0
ok test -d "$T/xdg/spacepanda"
stop_daemon TERM; is 0 "$RC" "SIGTERM exits 0"
for l in "$T"/*.log; do ok no_sanitizer_reports "$l"; done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
