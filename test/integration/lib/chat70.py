"""chat70 — helpers for the 70_* integration tests: real spacepandad processes in temporary data
directories on free ports, driven through Debian's python3-grpcio with message classes generated
by protoc at test time."""
import os, re, shutil, subprocess, sys, tempfile, threading, time

import grpc

B = os.environ.get("SP_BUILD", "build")
# SP_DAEMON_WRAP runs every daemon under a tool, e.g. "valgrind -q --leak-check=full" (its findings
# go to each daemon's log, daemon.log in the test's directory; KEEP=1 keeps it).
WRAP = os.environ.get("SP_DAEMON_WRAP", "").split()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TMP = tempfile.mkdtemp(prefix="sp-chat-")
subprocess.run(["protoc", f"--proto_path={ROOT}/proto", f"--python_out={TMP}", f"{ROOT}/proto/spacepanda.proto"],
               check=True)
sys.path.insert(0, TMP)
import spacepanda_pb2 as pb  # noqa: E402

_passed = 0
_failed = 0


def check(cond, what):
    global _passed, _failed
    if cond:
        _passed += 1
        print(f"ok   {what}")
    else:
        _failed += 1
        print(f"FAIL {what}")
    sys.stdout.flush()
    return cond


_daemons = []


def summary():
    """Checks every daemon's log for sanitizer reports, removes the temporary directory, and
    prints the last line."""
    for d in _daemons:
        try:
            log = d.log()
        except OSError:
            continue
        bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error" in l]
        check(not bad, f"{d.name}: no sanitizer report in the log" + (f": {bad[0]}" if bad else ""))
    if not os.environ.get("KEEP"):
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("kept", TMP)
    print(f"{_passed} passed, {_failed} failed")
    return 1 if _failed or not _passed else 0


def wait_until(fn, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            return v
        time.sleep(step)


def safe(fn, default=None):
    """fn() or default when it raises an RPC error (for polling)."""
    try:
        return fn()
    except grpc.RpcError:
        return default


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


METHODS = {
    "CreateProfile": ("AuthService", pb.CreateProfileRequest, pb.CreateProfileResponse),
    "Unlock": ("AuthService", pb.UnlockRequest, pb.UnlockResponse),
    "CreateSpace": ("SpaceService", pb.CreateSpaceRequest, pb.CreateSpaceResponse),
    "ListSpaces": ("SpaceService", pb.ListSpacesRequest, pb.ListSpacesResponse),
    "CreateChannel": ("SpaceService", pb.CreateChannelRequest, pb.CreateChannelResponse),
    "ListChannels": ("SpaceService", pb.ListChannelsRequest, pb.ListChannelsResponse),
    "GenerateKeyPackage": ("SpaceService", pb.GenerateKeyPackageRequest, pb.GenerateKeyPackageResponse),
    "CreateChannelInvite": ("SpaceService", pb.CreateChannelInviteRequest, pb.CreateChannelInviteResponse),
    "JoinChannel": ("SpaceService", pb.JoinChannelRequest, pb.JoinChannelResponse),
    "AddMemberToChannel": ("SpaceService", pb.AddMemberToChannelRequest, pb.AddMemberToChannelResponse),
    "RemoveMemberFromChannel": ("SpaceService", pb.RemoveMemberFromChannelRequest,
                                pb.RemoveMemberFromChannelResponse),
    "GetMessages": ("MessageService", pb.GetMessagesRequest, pb.GetMessagesResponse),
    "SendMessage": ("MessageService", pb.SendMessageRequest, pb.Message),
    "ConnectPeer": ("NetworkService", pb.ConnectPeerRequest, pb.ConnectPeerResponse),
    "GetNetworkStatus": ("NetworkService", pb.NetworkStatusRequest, pb.NetworkStatusResponse),
}


class Daemon:
    def __init__(self, name, *extra):
        self.name = name
        self.dir = os.path.join(TMP, name)
        os.makedirs(self.dir, exist_ok=True)
        self.extra = list(extra)
        self.proc = None
        self.p2p_port = 0
        _daemons.append(self)

    def start(self):
        self.logf = os.path.join(self.dir, "daemon.log")
        log = open(self.logf, "a")
        self.mark = os.path.getsize(self.logf)
        self.proc = subprocess.Popen(WRAP + [os.path.join(B, "spacepandad"), "--grpc-port", "0", "--p2p-port",
                                      str(self.p2p_port), "--data-dir", self.dir] + self.extra,
                                     stdout=log, stderr=log)
        log.close()

        def port():
            with open(self.logf) as f:
                f.seek(self.mark)
                m = re.search(r"gRPC listening on [0-9.]+:(\d+)", f.read())
                return int(m.group(1)) if m else None
        self.grpc_port = wait_until(port, 60 if WRAP else 20)
        if not self.grpc_port:
            raise RuntimeError(f"daemon {self.dir} did not start")
        self.addr = f"127.0.0.1:{self.grpc_port}"
        self.chan = grpc.insecure_channel(self.addr)
        self.stubs = {}
        for name, (svc, req, resp) in METHODS.items():
            self.stubs[name] = self.chan.unary_unary(f"/spacepanda.{svc}/{name}",
                                                     request_serializer=req.SerializeToString,
                                                     response_deserializer=resp.FromString)
        self.stream_stub = self.chan.unary_stream("/spacepanda.MessageService/StreamMessages",
                                                  request_serializer=pb.StreamMessagesRequest.SerializeToString,
                                                  response_deserializer=pb.Message.FromString)
        return self

    def call(self, _method, _timeout=20, **kw):
        return self.stubs[_method](METHODS[_method][1](**kw), timeout=_timeout)

    def net(self, token):
        st = self.call("GetNetworkStatus", session_token=token)
        self.peer_id = st.peer_id
        self.listen = st.listen_address
        self.p2p_port = int(st.listen_address.rsplit("/", 1)[1])
        return st

    def stream(self, token, channel_id):
        return Stream(self, token, channel_id)

    def cli(self, *args, token=None):
        env = dict(os.environ)
        if token:
            env["SPACEPANDA_TOKEN"] = token
        return subprocess.run([os.path.join(B, "spacepanda"), "--server", self.addr] + list(args),
                              capture_output=True, text=True, timeout=30, env=env)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.chan.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60 if WRAP else 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.chan.close()

    def log(self):
        with open(self.logf) as f:
            return f.read()


class Stream:
    """A StreamMessages call read by a thread into a list."""

    def __init__(self, d, token, channel_id):
        self.call = d.stream_stub(pb.StreamMessagesRequest(session_token=token, channel_id=channel_id))
        self.got = []
        self.error = None
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for m in self.call:
                with self.lock:
                    self.got.append(m)
        except grpc.RpcError as e:
            self.error = e.code()

    def messages(self):
        with self.lock:
            return list(self.got)

    def cancel(self):
        self.call.cancel()
        self.t.join(5)


def link_chain(ds, tokens):
    """Links ds[0]-ds[1]-...-ds[n-1] with ConnectPeer, using GetNetworkStatus's listen addresses."""
    for d, t in zip(ds, tokens):
        d.net(t)
    ok = True
    for i in range(len(ds) - 1):
        r = ds[i + 1].call("ConnectPeer", session_token=tokens[i + 1], peer_address=ds[i].listen)
        ok = ok and r.success
    return ok


def texts_from(d, token, channel_id, sender_id):
    """contents of the messages sender_id sent in channel_id, as d shows them (up to 500; [] if it
    cannot read them now)."""
    ms = safe(lambda: d.call("GetMessages", session_token=token, channel_id=channel_id, limit=500).messages, [])
    return [m.content for m in ms if m.sender_id == sender_id]


def alice_bob_charlie(ds, channel_name):
    """The reference setup on three started daemons: alice, bob and charlie on ds[0..2], linked as a
    chain; alice creates a space and channel_name, bob and charlie join by invite (checked).
    Returns (tok, uid, channel id); tok and uid are dicts by name."""
    tok, uid = {}, {}
    for name, d in zip(("alice", "bob", "charlie"), ds):
        r = d.call("CreateProfile", username=name, password="pw-" + name)
        tok[name], uid[name] = r.session_token, r.user.id
    check(link_chain(ds, [tok["alice"], tok["bob"], tok["charlie"]]), "chain 1-2-3 linked")
    a = ds[0]
    sp = a.call("CreateSpace", session_token=tok["alice"], name=channel_name).space
    ch = a.call("CreateChannel", session_token=tok["alice"], space_id=sp.id, name=channel_name).channel.id
    for who, d in (("bob", ds[1]), ("charlie", ds[2])):
        kp = d.call("GenerateKeyPackage", session_token=tok[who]).key_package
        inv = a.call("CreateChannelInvite", session_token=tok["alice"], channel_id=ch, key_package=kp)
        check(d.call("JoinChannel", session_token=tok[who], invite_token=inv.invite_token,
                     ratchet_tree=inv.ratchet_tree, space_id=inv.space_id, channel_name=inv.channel_name,
                     channel_id=inv.channel_id).success, f"{who} joins")
    return tok, uid, ch
