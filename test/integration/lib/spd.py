"""spd.py — shared helpers for the python integration tests: build the message classes from
proto/ with protoc into a temp dir, start/stop spacepandad on a free port in a data dir, call
methods generically (channel.unary_unary by path), and count checks.

Lives in lib/ so test/run.sh does not run it as a test."""
import atexit, os, re, shutil, signal, subprocess, sys, tempfile, time, importlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.path.join(ROOT, os.environ.get("SP_BUILD", "build"))
DAEMON = os.path.join(BUILD, "spacepandad")
CLI = os.path.join(BUILD, "spacepanda")

import grpc

_gen = tempfile.mkdtemp(prefix="sp-pb2-")
atexit.register(shutil.rmtree, _gen, True)
subprocess.check_call(["protoc", "--proto_path=" + os.path.join(ROOT, "proto"), "--python_out=" + _gen,
                       "spacepanda.proto", "health.proto"])
sys.path.insert(0, _gen)
pb = importlib.import_module("spacepanda_pb2")
health_pb = importlib.import_module("health_pb2")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL:", what, flush=True)
        return cond

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed or not self.passed else 0)


class Daemon:
    """One spacepandad process on an ephemeral gRPC port."""

    def __init__(self, data_dir, extra=()):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.channel = None

    def start(self, timeout=15):
        self.log_path = os.path.join(self.data_dir + ".log")
        self.log = open(self.log_path, "ab")
        start_at = self.log.tell()  # earlier runs of this data dir logged before: skip them
        self.proc = subprocess.Popen([DAEMON, "--grpc-port", "0", "--p2p-port", "0", "--data-dir",
                                      self.data_dir] + self.extra, stdout=self.log, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path, "rb") as f:
                f.seek(start_at)
                text = f.read().decode(errors="replace")
            m = re.findall(r"gRPC listening on [^ ]*:(\d+)\n", text)
            if m:
                self.port = int(m[-1])
                break
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited: " + text[-2000:])
            time.sleep(0.05)
        else:
            raise RuntimeError("daemon did not start")
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % self.port)
        return self

    def call(self, path, req, resp_cls, timeout=20):
        f = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString()
                                     if hasattr(m, "SerializeToString") else m,
                                     response_deserializer=resp_cls.FromString)
        return f(req, timeout=timeout)

    def future(self, path, req, resp_cls, timeout=30):
        f = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                     response_deserializer=resp_cls.FromString)
        return f.future(req, timeout=timeout)

    def raw(self, path, data, timeout=10):
        """Sends raw bytes as the request (for malformed protobuf)."""
        f = self.channel.unary_unary(path, request_serializer=lambda b: b,
                                     response_deserializer=lambda b: b)
        return f(data, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.channel:
            self.channel.close()
            self.channel = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if hasattr(self, "log"):
            self.log.close()
        return rc


def status_of(fn):
    """Runs fn(); returns (grpc.StatusCode, details) — OK and the result's repr when it succeeds."""
    try:
        r = fn()
        return grpc.StatusCode.OK, r
    except grpc.RpcError as e:
        return e.code(), e.details()


AUTH = "/spacepanda.AuthService/"
SPACE = "/spacepanda.SpaceService/"
