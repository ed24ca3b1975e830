"""net_p2pnode — drives build/p2p-node processes for the 30_* integration tests, and speaks the
P2P wire protocol itself (docs/p2p-protocol.md) for the hostile-peer tests: a second, independent
implementation of the handshake."""
import os, queue, re, shutil, signal, socket, struct, subprocess, sys, tempfile, threading, time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization

BUILD = os.environ.get("SP_BUILD", "build")
BIN = os.path.join(BUILD, "p2p-node")

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok  ", what, flush=True)
    else:
        failed += 1
        print("FAIL", what, flush=True)
    return cond


def summary():
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed or not passed else 0


def wait_until(pred, timeout=5.0, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Node:
    """One p2p-node process with its own data dir (kept across restarts)."""

    def __init__(self, name, tmp, *extra):
        self.name = name
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.extra = list(extra)
        self.proc = None
        self.port = 0

    def start(self, port=None):
        if port is not None:
            self.port = port
        self.lines = []
        self.cv = threading.Condition()
        self.log = open(os.path.join(self.dir, "stderr.log"), "a")
        args = [BIN, "--data", self.dir, "--port", str(self.port), "--heartbeat-ms", "300",
                "--dead-ms", "2000", "--handshake-ms", "1000", "--backoff-max-ms", "800"] + self.extra
        env = dict(os.environ)
        # Under ASan, freed blocks sit in a 256 MB quarantine: keep it small so that RSS checks
        # measure what the node retains, not what the sanitizer does.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1, env=env)
        threading.Thread(target=self._reader, args=(self.proc,), daemon=True).start()
        line = self.wait_line(lambda l: l.startswith("ready "), 10)
        if not line:
            raise RuntimeError(f"{self.name} did not start; see {self.dir}/stderr.log")
        _, self.id, self.addr = line.split()
        self.port = int(self.addr.rsplit("/", 1)[1])
        return self

    def _reader(self, proc):
        for line in proc.stdout:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_line(self, pred, timeout=5.0, start=0):
        end = time.time() + timeout
        with self.cv:
            while True:
                for l in self.lines[start:]:
                    if pred(l):
                        return l
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def cmd(self, line, reply_prefix=None, timeout=5.0):
        with self.cv:
            mark = len(self.lines)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        if reply_prefix:
            return self.wait_line(lambda l: l.startswith(reply_prefix), timeout, mark)
        return None

    def connect(self, addr, timeout=5.0):
        return self.cmd("connect " + addr, "connect ", timeout)

    def links(self):
        st = self.cmd("status", "status ")
        return sorted(st.split()[4:]) if st else None

    def received(self, origin=None):
        with self.cv:
            out = []
            for l in self.lines:
                if l.startswith("recv "):
                    p = l.split(" ", 6)
                    if origin is None or p[1] == origin:
                        out.append(p)
            return out

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
        return 0

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.alive():
            try:
                self.proc.stdin.close()
            except Exception:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def tempdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)


# ---- the wire protocol, independently ------------------------------------------------------

T_HELLO, T_AUTH, T_CLOSE, T_HEARTBEAT, T_GOSSIP, T_HAVE, T_HAVE_REQ = 1, 2, 3, 0x10, 0x20, 0x21, 0x22
LABEL = b"spacepanda/p2p/1 auth\x00"


def frame(t, payload=b""):
    return struct.pack(">IB", len(payload) + 1, t) + payload


def read_frame(sock):
    hdr = recv_exact(sock, 4)
    if hdr is None:
        return None
    (n,) = struct.unpack(">I", hdr)
    body = recv_exact(sock, n)
    if body is None:
        return None
    return body[0], body[1:]


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        try:
            c = sock.recv(n - len(buf))
        except (ConnectionResetError, socket.timeout, OSError):
            return None
        if not c:
            return None
        buf += c
    return buf


class RawPeer:
    """A peer written in Python: handshake per docs/p2p-protocol.md, then raw frames."""

    def __init__(self, port, key=None, listen_port=0):
        self.key = key or Ed25519PrivateKey.generate()
        self.pub = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.id = self.pub.hex()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.listen_port = listen_port

    def hello_payload(self, nonce, version=1):
        return struct.pack(">H", version) + self.pub + nonce + struct.pack(">H", self.listen_port)

    def handshake(self, version=1, bad_sig=False):
        nonce = os.urandom(32)
        mine = self.hello_payload(nonce, version)
        self.sock.sendall(frame(T_HELLO, mine))
        f = read_frame(self.sock)
        if not f or f[0] != T_HELLO:
            return f
        theirs = f[1]
        sig = self.key.sign(LABEL + mine + theirs)
        if bad_sig:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        self.sock.sendall(frame(T_AUTH, sig))
        f = read_frame(self.sock)
        if not f or f[0] != T_AUTH:
            return f
        Ed25519PublicKey.from_public_bytes(theirs[2:34]).verify(f[1], LABEL + theirs + mine)
        self.remote_id = theirs[2:34].hex()
        return (T_AUTH, b"ok")

    def gossip(self, seq, payload, ptype=1, dest=bytes(32), origin=None):
        return frame(T_GOSSIP, (origin or self.pub) + struct.pack(">Q", seq) + dest + struct.pack(">H", ptype) + payload)

    def closed_within(self, timeout):
        """True when the other side closes the socket within timeout (reading and discarding)."""
        self.sock.settimeout(0.2)
        end = time.time() + timeout
        while time.time() < end:
            try:
                c = self.sock.recv(65536)
                if not c:
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
