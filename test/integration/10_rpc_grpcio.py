#!/usr/bin/python3
"""10_rpc_grpcio.py — the daemon's gRPC server against Debian's python3-grpcio, a client this
project did not write: Health Check and Watch, unknown method and service, an unsupported
compression, an oversized and a malformed request, deadlines, cancelled streams, 1,000 concurrent
streams on one connection, 200 connections, garbage bytes on the port, and a graceful SIGTERM
(Watch sees NOT_SERVING, exit 0). After the abuse the daemon must still serve, and under the
sanitizers its stderr must hold no report."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("SP_BUILD", "build"))
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)


tmp = tempfile.mkdtemp(prefix="sp10-")
subprocess.run(["protoc", "--python_out=" + tmp, "-I" + os.path.join(ROOT, "proto"),
                os.path.join(ROOT, "proto", "health.proto")], check=True)
sys.path.insert(0, tmp)
import health_pb2 as hpb  # noqa: E402

errlog = open(os.path.join(tmp, "daemon.err"), "w+")
daemon = subprocess.Popen([os.path.join(BUILD, "spacepandad"), "--grpc-port", "0", "--data-dir",
                           os.path.join(tmp, "data"), "--log-level", "info"],
                          stdout=subprocess.DEVNULL, stderr=errlog)


def _reap():  # never leave a daemon behind, whatever fails
    if daemon.poll() is None:
        daemon.kill()
        daemon.wait()


import atexit  # noqa: E402
atexit.register(_reap)


def daemon_log():
    errlog.flush()
    with open(errlog.name) as f:
        return f.read()


port = None
for _ in range(200):
    m = re.search(r"listening on \S*:(\d+)$", daemon_log(), re.M)
    if m:
        port = int(m.group(1))
        break
    time.sleep(0.05)
if port is None:
    print(daemon_log())
    daemon.kill()
    print("0 passed, 1 failed")
    sys.exit(1)
target = "127.0.0.1:%d" % port
check(os.path.isdir(os.path.join(tmp, "data")), "data dir created")

CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"
SER = hpb.HealthCheckRequest.SerializeToString
DES = hpb.HealthCheckResponse.FromString
SERVING = hpb.HealthCheckResponse.SERVING


def channel(private=False):
    opts = [("grpc.use_local_subchannel_pool", 1)] if private else []
    return grpc.insecure_channel(target, options=opts)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


ch = channel()
chk = ch.unary_unary(CHECK, request_serializer=SER, response_deserializer=DES)
watch = ch.unary_stream(WATCH, request_serializer=SER, response_deserializer=DES)
raw_chk = ch.unary_unary(CHECK)

# --- Check and Watch
r = chk(hpb.HealthCheckRequest(), timeout=5)
check(r.status == SERVING, "Check '' is SERVING")
r = chk(hpb.HealthCheckRequest(service="grpc.health.v1.Health"), timeout=5)
check(r.status == SERVING, "Check of the health service itself")
c, d = code_of(lambda: chk(hpb.HealthCheckRequest(service="no.Such"), timeout=5))
check(c == grpc.StatusCode.NOT_FOUND, "Check of an unknown service is NOT_FOUND (%s)" % c)
it = watch(hpb.HealthCheckRequest(), timeout=10)
check(next(it).status == SERVING, "Watch sends SERVING first")
it.cancel()
it = watch(hpb.HealthCheckRequest(service="no.Such"), timeout=10)
check(next(it).status == hpb.HealthCheckResponse.SERVICE_UNKNOWN, "Watch of an unknown service: SERVICE_UNKNOWN")
it.cancel()

# --- unknown method / service
c, d = code_of(lambda: ch.unary_unary("/grpc.health.v1.Health/Nope")(b"", timeout=5))
check(c == grpc.StatusCode.UNIMPLEMENTED, "unknown method is UNIMPLEMENTED (%s)" % c)
c, d = code_of(lambda: ch.unary_unary("/no.Service/Check")(b"", timeout=5))
check(c == grpc.StatusCode.UNIMPLEMENTED and "no.Service" in d, "unknown service is UNIMPLEMENTED (%s %s)" % (c, d))

# --- compressed with an encoding the server does not support
compressible = SER(hpb.HealthCheckRequest(service="a" * 20000))
c, d = code_of(lambda: raw_chk(compressible, timeout=5, compression=grpc.Compression.Gzip))
check(c == grpc.StatusCode.UNIMPLEMENTED, "gzip-compressed request is UNIMPLEMENTED (%s %s)" % (c, d))

# --- oversized (4 MiB + 1 body) and malformed
big = b"\x0a" + b"\x80\x80\x80\x02" + b"x" * ((4 << 20) - 4)
c, d = code_of(lambda: raw_chk(big, timeout=10))
check(c == grpc.StatusCode.RESOURCE_EXHAUSTED, "4 MiB+ request is RESOURCE_EXHAUSTED (%s %s)" % (c, d))
c, d = code_of(lambda: raw_chk(b"\x0a\x05ab", timeout=5))
check(c == grpc.StatusCode.INVALID_ARGUMENT, "truncated protobuf is INVALID_ARGUMENT (%s)" % c)
c, d = code_of(lambda: raw_chk(b"\xff\xff\xff", timeout=5))
check(c == grpc.StatusCode.INVALID_ARGUMENT, "garbage protobuf is INVALID_ARGUMENT (%s)" % c)
# exactly at the limit is decoded and answered (NOT_FOUND: no service of that name)
at_limit = SER(hpb.HealthCheckRequest(service="y" * ((4 << 20) - 5)))
check(len(at_limit) == 4 << 20, "test message is exactly 4 MiB")
c, d = code_of(lambda: raw_chk(at_limit, timeout=10))
check(c == grpc.StatusCode.NOT_FOUND, "a request of exactly 4 MiB is decoded (%s %s)" % (c, d))

# --- deadlines: a Watch with a deadline ends DEADLINE_EXCEEDED on time
t0 = time.time()
it = watch(hpb.HealthCheckRequest(), timeout=0.3)
got = []
c, d = code_of(lambda: [got.append(m) for m in it])
check(c == grpc.StatusCode.DEADLINE_EXCEEDED and len(got) == 1, "Watch with a deadline: %s after %d" % (c, len(got)))
check(time.time() - t0 < 3, "deadline honoured promptly")

# --- cancelled streams
its = [watch(hpb.HealthCheckRequest(), timeout=30) for _ in range(20)]
for i in its:
    next(i)
for i in its:
    i.cancel()
check(all(i.code() == grpc.StatusCode.CANCELLED for i in its), "cancelled streams report CANCELLED")

# --- 1,000 concurrent streams on one connection
ch1 = channel(private=True)
w1 = ch1.unary_stream(WATCH, request_serializer=SER, response_deserializer=DES)
streams = [w1(hpb.HealthCheckRequest(), timeout=60) for _ in range(1000)]
firsts = 0
for s in streams:
    try:
        if next(s).status == SERVING:
            firsts += 1
    except grpc.RpcError as e:
        print("stream failed:", e.code(), e.details())
check(firsts == 1000, "1000 concurrent Watch streams on one connection all answered (%d)" % firsts)
c1 = ch1.unary_unary(CHECK, request_serializer=SER, response_deserializer=DES)
futs = [c1.future(hpb.HealthCheckRequest(), timeout=30) for _ in range(1000)]
oks = sum(1 for f in futs if f.result().status == SERVING)
check(oks == 1000, "1000 concurrent Checks beside them (%d)" % oks)
for s in streams:
    s.cancel()
ch1.close()

# --- 200 connections
def established():
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    p = line.split()
                    if int(p[1].split(":")[1], 16) == port and p[3] == "01":
                        n += 1
        except OSError:
            pass
    return n


chans = [channel(private=True) for _ in range(200)]
wst = []
for cch in chans:
    s = cch.unary_stream(WATCH, request_serializer=SER, response_deserializer=DES)(hpb.HealthCheckRequest(), timeout=60)
    wst.append(s)
n_ok = 0
for s in wst:
    try:
        n_ok += next(s).status == SERVING
    except grpc.RpcError as e:
        print("conn failed:", e.code(), e.details())
check(n_ok == 200, "200 connections each with a Watch (%d)" % n_ok)
conns = established()
check(conns >= 200, "200 established connections at the daemon (%d)" % conns)
for s in wst:
    s.cancel()
for cch in chans:
    cch.close()

# --- garbage on the port closes that connection only
keep = channel(private=True)
kchk = keep.unary_unary(CHECK, request_serializer=SER, response_deserializer=DES)
check(kchk(hpb.HealthCheckRequest(), timeout=5).status == SERVING, "a connection before the garbage")
for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(4096), b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 64):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(junk)
    closed = False
    try:
        t_end = time.time() + 5
        while time.time() < t_end:
            b = s.recv(65536)
            if not b:
                closed = True
                break
    except (ConnectionResetError, socket.timeout):
        closed = True
    s.close()
    check(closed, "garbage %r... closes its connection" % junk[:8])
# PING is answered (raw HTTP/2: preface, empty SETTINGS, PING; expect PING with ACK and our payload)
import struct


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(6, 0, 0, b"pandapin"))
buf = b""
acked = False
t_end = time.time() + 5
while time.time() < t_end and not acked:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    while len(buf) >= 9:
        ln = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + ln:
            break
        ftype, flags, payload = buf[3], buf[4], buf[9:9 + ln]
        buf = buf[9 + ln:]
        if ftype == 6 and flags & 1 and payload == b"pandapin":
            acked = True
s.close()
check(acked, "PING answered with ACK")

# an idle connection that never speaks must not hurt anyone either
idle = socket.create_connection(("127.0.0.1", port), timeout=5)
check(kchk(hpb.HealthCheckRequest(), timeout=5).status == SERVING, "the other connection still serves")

# --- after all that
r = chk(hpb.HealthCheckRequest(), timeout=5)
check(r.status == SERVING, "the daemon still serves after the abuse")
check(daemon.poll() is None, "the daemon is still running")

# --- graceful shutdown: Watch sees NOT_SERVING, then the stream ends; exit 0
it = watch(hpb.HealthCheckRequest(), timeout=30)
check(next(it).status == SERVING, "Watch before SIGTERM")
seen = []


def drain():
    try:
        for m in it:
            seen.append(m.status)
    except grpc.RpcError as e:
        seen.append(e.code())


th = threading.Thread(target=drain)
th.start()
t0 = time.time()
daemon.send_signal(signal.SIGTERM)
try:
    rc = daemon.wait(timeout=20)
except subprocess.TimeoutExpired:
    daemon.kill()
    rc = "timeout"
th.join(10)
check(rc == 0, "SIGTERM: exit 0 (%s)" % rc)
check(time.time() - t0 < 10, "shutdown is bounded")
check(seen[:1] == [hpb.HealthCheckResponse.NOT_SERVING], "Watch saw NOT_SERVING on shutdown (%s)" % seen)
idle.close()
keep.close()
ch.close()

log = daemon_log()
check("listening on" in log and "shutting down" in log, "log lines for listen and shutdown")
bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error" in l]
check(not bad, "no sanitizer reports in the daemon's stderr: %s" % bad[:3])
if failed:
    print(log[-3000:])
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
