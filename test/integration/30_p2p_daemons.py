"""30_p2p_daemons — NetworkService on real spacepandad processes, driven by Debian's python3-grpcio
(a client this project did not write) and by the project's CLI: chain 1-2-3 via ConnectPeer
reports exactly its neighbours, listen addresses carry the bound port, a bad multiaddr is
INVALID_ARGUMENT, a /p2p/ mismatch and a dead address are success=false, SIGKILL + restart of 2
brings the links back by themselves, --peer links at start-up, and a live session is required."""
import os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from net_p2pnode import check, summary, wait_until

import grpc

B = os.environ.get("SP_BUILD", "build")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TMP = tempfile.mkdtemp(prefix="sp-net-daemons-")
subprocess.run(["protoc", f"--proto_path={ROOT}/proto", f"--python_out={TMP}", f"{ROOT}/proto/spacepanda.proto"], check=True)
sys.path.insert(0, TMP)
import spacepanda_pb2 as pb  # noqa: E402



class Daemon:
    def __init__(self, name, *extra):
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.extra = list(extra)
        self.proc = None
        self.p2p_port = 0

    def start(self, p2p_port=None):
        if p2p_port is not None:
            self.p2p_port = p2p_port
        self.logf = os.path.join(self.dir, "daemon.log")
        log = open(self.logf, "a")
        self.mark = os.path.getsize(self.logf)
        self.proc = subprocess.Popen([os.path.join(B, "spacepandad"), "--grpc-port", "0", "--p2p-port", str(self.p2p_port),
                                      "--data-dir", self.dir] + self.extra, stdout=log, stderr=log)
        def port():
            with open(self.logf) as f:
                f.seek(self.mark)
                m = re.search(r"gRPC listening on [0-9.]+:(\d+)", f.read())
                return int(m.group(1)) if m else None
        self.grpc_port = wait_until(port, 15)
        if not self.grpc_port:
            raise RuntimeError(f"daemon {self.dir} did not start")
        self.chan = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        self.status_rpc = self.chan.unary_unary("/spacepanda.NetworkService/GetNetworkStatus",
                                                request_serializer=pb.NetworkStatusRequest.SerializeToString,
                                                response_deserializer=pb.NetworkStatusResponse.FromString)
        self.connect_rpc = self.chan.unary_unary("/spacepanda.NetworkService/ConnectPeer",
                                                 request_serializer=pb.ConnectPeerRequest.SerializeToString,
                                                 response_deserializer=pb.ConnectPeerResponse.FromString)
        create = self.chan.unary_unary("/spacepanda.AuthService/CreateProfile",
                                       request_serializer=pb.CreateProfileRequest.SerializeToString,
                                       response_deserializer=pb.CreateProfileResponse.FromString)
        # sessions live in memory: a restarted daemon needs a new one (a fresh profile is simplest)
        self.restarts = getattr(self, "restarts", 0) + 1
        self.token = create(pb.CreateProfileRequest(username=f"op{self.restarts}", password="correct horse battery"),
                            timeout=30).session_token
        st = self.status()
        self.id, self.addr = st.peer_id, st.listen_address
        self.p2p_port = int(self.addr.rsplit("/", 1)[1])
        return self

    def status(self, token=None):
        return self.status_rpc(pb.NetworkStatusRequest(session_token=self.token if token is None else token), timeout=10)

    def links(self):
        return sorted(self.status().connected_peers)

    def connect(self, addr, token=None):
        return self.connect_rpc(pb.ConnectPeerRequest(session_token=self.token if token is None else token,
                                                      peer_address=addr), timeout=15)

    def cli(self, *args):
        return subprocess.run([os.path.join(B, "spacepanda"), "--server", f"127.0.0.1:{self.grpc_port}"] + list(args),
                              capture_output=True, text=True, timeout=20)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.chan.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.chan.close()


def code_of(fn):
    try:
        fn()
        return None
    except grpc.RpcError as e:
        return e.code()


def main():
    d1, d2, d3 = Daemon("d1"), Daemon("d2"), Daemon("d3")
    ds = [d1, d2, d3]
    d4 = None
    try:
        for d in ds:
            d.start()
        check(all(re.fullmatch(r"[0-9a-f]{64}", d.id) for d in ds) and len({d.id for d in ds}) == 3,
              "GetNetworkStatus: three distinct 64-hex peer ids")
        check(all(re.fullmatch(r"/ip4/127\.0\.0\.1/tcp/[1-9]\d*", d.addr) for d in ds),
              f"listen addresses with the bound port: {[d.addr for d in ds]}")
        check(code_of(lambda: d1.status(token="")) == grpc.StatusCode.UNAUTHENTICATED, "no token: UNAUTHENTICATED")
        check(code_of(lambda: d1.status(token="0" * 64)) == grpc.StatusCode.UNAUTHENTICATED,
              "unknown token: UNAUTHENTICATED")
        check(code_of(lambda: d1.connect(d2.addr, token=d2.token)) == grpc.StatusCode.UNAUTHENTICATED,
              "another daemon's token: UNAUTHENTICATED")

        r = d1.connect(f"{d2.addr}/p2p/{d2.id}")
        check(r.success, f"ConnectPeer 1->2 (pinned): {r.message}")
        r = d3.connect(d2.addr)
        check(r.success, f"ConnectPeer 3->2: {r.message}")
        check(wait_until(lambda: d2.links() == sorted([d1.id, d3.id])), "2 reports exactly 1 and 3")
        check(d1.links() == [d2.id] and d3.links() == [d2.id], "1 and 3 report exactly 2")

        check(code_of(lambda: d1.connect("/ip4/127.0.0.1/udp/1")) == grpc.StatusCode.INVALID_ARGUMENT,
              "malformed multiaddr: INVALID_ARGUMENT")
        check(code_of(lambda: d1.connect("/dns/example.com/tcp/1")) == grpc.StatusCode.INVALID_ARGUMENT,
              "unsupported protocol: INVALID_ARGUMENT")
        r = d1.connect(f"{d3.addr}/p2p/{d2.id}")
        check(not r.success and "mismatch" in r.message, f"/p2p/ mismatch: success=false: {r.message}")
        r = d1.connect("/ip4/127.0.0.1/tcp/1")
        check(not r.success and r.message, f"nothing listening: success=false: {r.message}")
        check(d1.links() == [d2.id], "1 still links only to 2")

        # the project's CLI
        out = d2.cli("net", "status", "--token", d2.token)
        check(out.returncode == 0 and f"peer_id: {d2.id}" in out.stdout and out.stdout.count("connected_peers:") == 2,
              f"spacepanda net status: {out.stdout.strip()!r}")
        out = d3.cli("peer", "connect", d1.addr, "--token", d3.token)
        check(out.returncode == 0 and out.stdout.startswith("connected"), f"spacepanda peer connect: {out.stdout.strip()}")
        check(wait_until(lambda: d1.links() == sorted([d2.id, d3.id])), "after the CLI connect 1 links to 2 and 3")
        out = d3.cli("peer", "connect", "/ip4/1.2.3.4/tcp/0", "--token", d3.token)
        check(out.returncode == 1 and "INVALID_ARGUMENT" in out.stderr, f"CLI with a bad multiaddr: {out.stderr.strip()}")

        # SIGKILL 2 and restart it: links return without any ConnectPeer
        port2 = d2.p2p_port
        d2.kill()
        check(wait_until(lambda: d2.id not in d1.links() and d2.id not in d3.links(), 10), "1 and 3 drop the dead link")
        d2.start(p2p_port=port2)
        check(wait_until(lambda: d2.id in d1.links() and d2.id in d3.links(), 15),
              "restarted 2 is linked to 1 and 3 again by itself")
        check(wait_until(lambda: d2.links() == sorted([d1.id, d3.id]), 10), "restarted 2 reports 1 and 3")

        # --peer at start-up
        d4 = Daemon("d4", "--peer", f"{d1.addr}/p2p/{d1.id}")
        d4.start()
        check(wait_until(lambda: d4.links() == [d1.id], 10), "--peer: 4 links to 1 at start-up")
        check(wait_until(lambda: d4.id in d1.links(), 5), "1 sees 4")
        key = os.path.join(d4.dir, "p2p_identity.pem")
        check(oct(os.stat(key).st_mode & 0o777) == "0o600", "identity key file mode 0600")
        d4.stop()
        check(d4.proc.returncode == 0, "SIGTERM: clean exit")
        check(wait_until(lambda: d4.id not in d1.links(), 5), "1 sees 4 leave")
    finally:
        for d in ds + ([d4] if d4 else []):
            d.kill()
        shutil.rmtree(TMP, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
