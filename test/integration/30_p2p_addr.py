"""30_p2p_addr — --p2p-addr: the P2P listener binds the address given (here other loopback
addresses, as a second host would use its own), daemons link through it, and a bad address is a
usage error that starts nothing."""
import os, socket, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from chat70 import B, Daemon, check, summary, wait_until  # noqa: E402


def refused(host, port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def user(d, name):
    return d.call("CreateProfile", username=name, password="pw").session_token


def main():
    for bad in ("nope", "999.1.1.1", "127.0.0.1:80", ""):
        r = subprocess.run([os.path.join(B, "spacepandad"), "--p2p-addr", bad, "--grpc-port", "0"],
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 2 and "--p2p-addr" in r.stderr,
              f"--p2p-addr {bad!r}: usage error (exit {r.returncode}: {r.stderr.strip()[:80]})")

    a = Daemon("addr-a", "--p2p-addr", "127.0.0.2").start()
    b = Daemon("addr-b", "--p2p-addr", "127.0.0.3").start()
    w = Daemon("addr-w", "--p2p-addr", "0.0.0.0").start()
    try:
        ta, tb, tw = user(a, "alice"), user(b, "bob"), user(w, "wendy")
        sa, sb, sw = a.net(ta), b.net(tb), w.net(tw)
        check(sa.listen_address.startswith("/ip4/127.0.0.2/tcp/"), f"a listens where told: {sa.listen_address}")
        check(sb.listen_address.startswith("/ip4/127.0.0.3/tcp/"), f"b listens where told: {sb.listen_address}")
        check(refused("127.0.0.1", a.p2p_port), "a's P2P port is not open on 127.0.0.1")
        check(sw.listen_address.startswith("/ip4/127.0.0.1/tcp/"),
              f"a wildcard listener reports a dialable address: {sw.listen_address}")
        r = b.call("ConnectPeer", session_token=tb, peer_address=a.listen)
        check(r.success, f"b links to a at {a.listen}")
        r = w.call("ConnectPeer", session_token=tw, peer_address=a.listen)
        check(r.success, "w links to a")
        r = b.call("ConnectPeer", session_token=tb, peer_address=f"/ip4/127.0.0.4/tcp/{w.p2p_port}")
        check(r.success, "b links to the wildcard listener through another local address")
        up = wait_until(lambda: len(a.call("GetNetworkStatus", session_token=ta).connected_peers) == 2, 10)
        check(up, "a has both links up")
        peers = set(a.call("GetNetworkStatus", session_token=ta).connected_peers)
        check(peers == {sb.peer_id, sw.peer_id}, "a's links are b and w")
    finally:
        for d in (a, b, w):
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
