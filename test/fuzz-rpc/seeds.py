#!/usr/bin/env python3
"""seeds.py OUTDIR — writes seed inputs for fuzz_rpc_h2: client byte streams of HTTP/2 with gRPC
requests (HPACK literals, no Huffman), so mutations start from sessions the server accepts."""
import os
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, sid, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def lit(name, value):
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def headers(path, extra=()):
    h = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
         ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)
    return b"".join(lit(a, b) for a, b in h)


def msg(body):
    return b"\x00" + struct.pack(">I", len(body)) + body


def call(sid, path, body, extra=(), end=True):
    return frame(1, 4, sid, headers(path, extra)) + frame(0, 1 if end else 0, sid, msg(body))


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
start = PREFACE + frame(4, 0, 0, b"")
seeds = {
    "check": start + call(1, "/grpc.health.v1.Health/Check", b""),
    "check_unknown": start + call(1, "/grpc.health.v1.Health/Check", b"\x0a\x03abc"),
    "watch": start + call(1, "/grpc.health.v1.Health/Watch", b""),
    "later": start + call(1, "/f.F/Later", b"", [("grpc-timeout", "1m")]) + call(3, "/f.F/Later", b""),
    "stream": start + call(1, "/f.F/Stream", b"\x0a\x01e") + call(3, "/f.F/Stream", b"\x0a\x01k"),
    "rst": start + call(1, "/f.F/Stream", b"") + frame(3, 0, 1, struct.pack(">I", 8)),
    "unknown": start + call(1, "/no.Such/Thing", b""),
    "big": start + frame(1, 4, 1, headers("/grpc.health.v1.Health/Check")) +
           frame(0, 0, 1, b"\x00\x00\x00\x20\x00" + b"a" * 900),
    "partial": start + frame(1, 4, 1, headers("/f.F/Later")) + frame(0, 0, 1, b"\x00\x00\x00\x10\x00abc"),
    "compressed": start + frame(1, 4, 1, headers("/f.F/Later")) + frame(0, 1, 1, b"\x01\x00\x00\x00\x01x"),
    "ping_window": start + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000)) +
                   call(1, "/grpc.health.v1.Health/Check", b""),
    "goaway": start + call(1, "/f.F/Later", b"") + frame(7, 0, 0, struct.pack(">II", 0, 0)),
}
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
