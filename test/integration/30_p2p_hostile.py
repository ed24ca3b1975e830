"""30_p2p_hostile — hostile input on the P2P port of a real p2p-node (A, linked to a second node B):
random bytes, a 4 GiB length, oversized and malformed handshakes, an unknown version, a bad
signature, a half-finished handshake that goes silent, a peer claiming A's own id, unknown and
malformed frames from an authenticated peer, and a flood of valid frames from a peer that never
reads. A must stay up, B's link must be unaffected, and A's memory must stay bounded."""
import os, shutil, socket, struct, sys, time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from net_p2pnode import (Node, RawPeer, check, summary, tempdir, wait_until, frame, read_frame,
                         T_HELLO, T_AUTH, T_CLOSE, T_HAVE, T_GOSSIP)


def raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def closed_within(sock, timeout):
    sock.settimeout(0.2)
    end = time.time() + timeout
    while time.time() < end:
        try:
            c = sock.recv(65536)
            if not c:
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
    return False


def main():
    tmp = tempdir("sp-net-hostile-")
    a = Node("a", tmp, "--outq", "262144")
    b = Node("b", tmp)
    try:
        a.start()
        b.start()
        r = b.connect(a.addr)
        check(r and r.startswith("connect ok"), "B links to A")

        def b_ok(tag):
            seq = b.cmd(f"bcast 3 {tag}", "sent ")
            return wait_until(lambda: any(p[6] == tag for p in a.received(b.id)), 5) and b.id in a.links()

        s = raw(a.port)
        s.sendall(os.urandom(65536))
        check(closed_within(s, 3), "random bytes: A closes that connection")
        check(a.alive() and b_ok("after-random"), "random bytes: A up, B's link unaffected")

        s = raw(a.port)
        s.sendall(b"\xff\xff\xff\xff" + b"\x01" * 64)
        check(closed_within(s, 3), "4 GiB length: closed before any allocation")
        s = raw(a.port)
        s.sendall(struct.pack(">IB", 100000, T_HELLO) + b"x" * 1000)
        check(closed_within(s, 3), "100 kB frame before the handshake: closed")
        s = raw(a.port)
        s.sendall(struct.pack(">I", 0))
        check(closed_within(s, 3), "zero-length frame: closed")
        check(a.alive() and b_ok("after-lengths"), "bad lengths: A up, B's link unaffected")

        def frames_until_closed(sock, timeout=3):
            sock.settimeout(timeout)
            out = []
            while True:
                f = read_frame(sock)
                if f is None:
                    return out
                out.append(f)

        def close_code(frames):
            return [struct.unpack(">H", f[1][:2])[0] for f in frames if f[0] == T_CLOSE]

        p = RawPeer(a.port)
        p.sock.sendall(frame(T_HELLO, p.hello_payload(os.urandom(32), version=2)))
        got = frames_until_closed(p.sock)
        check(close_code(got) == [2] and b"version" in got[-1][1], f"unknown version refused with CLOSE(version): {got[-1:]}")
        p.close()
        p = RawPeer(a.port)
        nonce = os.urandom(32)
        p.sock.sendall(frame(T_HELLO, p.hello_payload(nonce)))
        f = read_frame(p.sock)
        p.sock.sendall(frame(T_AUTH, p.key.sign(b"not the transcript" + f[1])))
        got = frames_until_closed(p.sock)
        check(close_code(got) == [6], f"bad signature refused with CLOSE(auth): {got[-1:]}")
        check(a.links() == [b.id], "no link came up from a bad signature")

        # someone presenting A's own public key (cannot sign, but is refused at HELLO already)
        s = raw(a.port)
        s.sendall(frame(T_HELLO, struct.pack(">H", 1) + bytes.fromhex(a.id) + os.urandom(32) + b"\x00\x00"))
        got = frames_until_closed(s)
        check(close_code(got) == [3],
              "a HELLO with A's own id is refused as a link to self")

        # half-finished handshake, then silence; and a connection that says nothing at all
        t0 = time.time()
        s1 = raw(a.port)
        s1.sendall(frame(T_HELLO, struct.pack(">H", 1) + os.urandom(32) + os.urandom(32) + b"\x00\x00"))
        s2 = raw(a.port)
        c1, c2 = closed_within(s1, 4), closed_within(s2, 4)
        dt = time.time() - t0
        check(c1 and c2 and dt < 4, f"silent handshakes closed by the timeout (1 s configured), after {dt:.1f} s")
        silent = [raw(a.port) for _ in range(80)]  # more than the pre-auth cap
        time.sleep(0.3)
        check(a.alive() and b_ok("during-silent-flood"), "80 silent connections: A up, B unaffected")
        for s in silent:
            s.close()

        # an authenticated Python peer: unknown frame types are skipped, malformed ones close it
        p = RawPeer(a.port)
        check(p.handshake() == (T_AUTH, b"ok"), "a second implementation (Python) completes the handshake")
        check(p.remote_id == a.id, "A proved its peer id to it")
        check(wait_until(lambda: a.links() == sorted([b.id, p.id])), "A lists the Python peer")
        p.sock.sendall(frame(0x7f, b"future stuff") + frame(0x10))
        time.sleep(0.3)
        check(a.links() == sorted([b.id, p.id]), "unknown frame type skipped, link stays")
        p.sock.sendall(p.gossip(1, b"py-frame-1"))
        check(wait_until(lambda: any(q[6] == "py-frame-1" for q in b.received(p.id))),
              "a frame from the Python peer is relayed by A to B")
        p.sock.sendall(frame(T_GOSSIP, b"short"))
        check(p.closed_within(3), "malformed GOSSIP closes that link")
        check(a.alive() and b_ok("after-malformed"), "malformed frame: A up, B unaffected")

        # flood of valid frames from a peer that never reads (its queue in A stays capped)
        p = RawPeer(a.port)
        check(p.handshake() == (T_AUTH, b"ok"), "flooding peer authenticated")
        p.sock.sendall(frame(T_HAVE, struct.pack(">I", 0)))  # "I have nothing": A pumps its log at it
        rss0 = a.rss_kib()
        n = 30000
        payload = b"\x00" * 1024
        t0 = time.time()
        for base in range(1, n + 1, 500):
            p.sock.sendall(b"".join(p.gossip(s, payload) for s in range(base, min(base + 500, n + 1))))
        ok = wait_until(lambda: len(b.received(p.id)) >= n, 60, 0.1)
        dt = time.time() - t0
        rss1 = a.rss_kib()
        c = Counter(int(q[2]) for q in b.received(p.id))
        check(ok and len(c) == n and max(c.values()) == 1, f"{n} flooded 1 KiB frames reach B exactly once ({dt:.1f} s)")
        # under ASan, its 16 MB quarantine of freed blocks (set in net_p2pnode) comes on top
        limit = (24 + (16 if "san" in os.environ.get("SP_BUILD", "") else 0)) * 1024
        check(rss1 - rss0 < limit, f"A's memory stays bounded: RSS {rss0} -> {rss1} KiB for {n // 1024} MiB flooded")
        check(a.alive() and b_ok("after-flood"), "after the flood: A up, B's link works")
        check(wait_until(lambda: p.id not in a.links(), 6), "the silent flooder is dropped by the dead-link timeout")
        p.close()
    finally:
        a.kill()
        b.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
