"""30_p2p_mesh — three real p2p-node processes (net/ with sqlite persistence): a chain 1-2-3
reports exactly its neighbours, a frame from 1 reaches 3 exactly once, SIGKILL of 2 and restart
brings the links back by themselves with what 1 sent meanwhile reaching 3, a /p2p/ id mismatch is
refused, and in a ring 1-2-3-1 nothing is delivered twice."""
import os, shutil, sys, time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from net_p2pnode import Node, check, summary, tempdir, wait_until


def exactly_once(node, origin, seqs):
    c = Counter(int(p[2]) for p in node.received(origin))
    return all(c[s] == 1 for s in seqs) and all(v == 1 for v in c.values())


def main():
    tmp = tempdir("sp-net-mesh-")
    n1, n2, n3 = Node("n1", tmp), Node("n2", tmp), Node("n3", tmp)
    nodes = [n1, n2, n3]
    try:
        for n in nodes:
            n.start()
        check(len({n.id for n in nodes}) == 3 and all(len(n.id) == 64 for n in nodes), "three distinct peer ids")
        check(all(n.addr.startswith("/ip4/127.0.0.1/tcp/") and n.port > 0 for n in nodes),
              "listen addresses carry the bound port")

        # chain 1-2-3, 1 pins 2's id
        r = n1.connect(f"{n2.addr}/p2p/{n2.id}")
        check(r and r.startswith("connect ok"), f"1 connects to 2 with /p2p/: {r}")
        r = n3.connect(n2.addr)
        check(r and r.startswith("connect ok"), f"3 connects to 2: {r}")
        check(wait_until(lambda: n2.links() == sorted([n1.id, n3.id])), "2 reports exactly 1 and 3")
        check(n1.links() == [n2.id], "1 reports exactly 2")
        check(n3.links() == [n2.id], "3 reports exactly 2")

        # bad multiaddrs and a lying peer
        r = n1.connect("/ip4/127.0.0.1/udp/5")
        check(r and r.startswith("connect invalid") and "tcp" in r, f"malformed multiaddr rejected: {r}")
        r = n1.connect(f"{n3.addr}/p2p/{n2.id}")
        check(r and r.startswith("connect fail") and "mismatch" in r, f"/p2p/ id mismatch refused: {r}")
        time.sleep(0.3)
        check(n1.links() == [n2.id], "after the mismatch 1 still links only to 2")
        r = n1.connect(n1.addr)
        check(r and r.startswith("connect fail") and "self" in r, f"link to self refused: {r}")

        # a frame from 1 reaches 3 exactly once, through 2
        seq = n1.cmd("bcast 7 hello-from-1", "sent ")
        check(seq == "sent 1", f"1 originates seq 1: {seq}")
        got = wait_until(lambda: n3.received(n1.id))
        time.sleep(0.3)
        rec = n3.received(n1.id)
        check(len(rec) == 1 and rec[0][2] == "1" and rec[0][3] == "7" and rec[0][6] == "hello-from-1",
              f"3 got 1's frame exactly once: {rec}")
        check(len(n2.received(n1.id)) == 1, "2 got it once too")
        check(not n1.received(), "1 does not hand its own frame to itself")

        # unicast 3 -> 1 across 2
        r = n3.cmd(f"ucast {n1.id} 9 only-for-1", "sent ")
        check(wait_until(lambda: any(p[4] == "u" for p in n1.received(n3.id))), "unicast from 3 reaches 1")
        time.sleep(0.2)
        check(not n2.received(n3.id), "2 relays the unicast but does not hand it up")

        # SIGKILL 2; 1 originates meanwhile; restart 2 on its port: links return by themselves
        port2 = n2.port
        n2.kill()
        check(wait_until(lambda: n1.links() == [] and n3.links() == []), "1 and 3 see the link to 2 go down")
        for i in range(5):
            n1.cmd(f"bcast 7 while-2-down-{i}", "sent ")
        time.sleep(0.3)
        check(len(n3.received(n1.id)) == 1, "3 cannot get them while 2 is down")
        n2.start(port=port2)
        check(wait_until(lambda: n1.links() == [n2.id] and n3.links() == [n2.id], 10),
              "after restart 1 and 3 are linked to 2 again without any connect")
        check(wait_until(lambda: n2.links() == sorted([n1.id, n3.id]), 5), "restarted 2 reports 1 and 3")
        check(wait_until(lambda: exactly_once(n3, n1.id, range(1, 7)), 10),
              "what 1 originated while 2 was down reaches 3, each exactly once")
        seqs3 = [int(p[2]) for p in n3.received(n1.id)]
        check(seqs3 == sorted(seqs3), f"catch-up delivered in origin order: {seqs3}")
        # 2 lost nothing durable: it does not hand up again what it had before the kill
        check(len([p for p in n2.received(n1.id) if p[2] == "1"]) == 0, "restarted 2 does not redeliver seq 1")

        # ring 1-2-3-1: nothing twice
        r = n3.connect(n1.addr)
        check(r and r.startswith("connect ok"), f"3 connects to 1, closing the ring: {r}")
        check(wait_until(lambda: n1.links() == sorted([n2.id, n3.id])), "1 reports 2 and 3")
        for i in range(20):
            n1.cmd(f"bcast 7 ring-{i}", "sent ")
            n2.cmd(f"bcast 8 ring2-{i}", "sent ")
        check(wait_until(lambda: exactly_once(n3, n1.id, range(1, 27)) and exactly_once(n1, n2.id, range(1, 21))
                         and exactly_once(n3, n2.id, range(1, 21)), 10), "ring: every frame arrives")
        time.sleep(0.5)
        check(exactly_once(n3, n1.id, range(1, 27)), "ring: 3 got each of 1's frames exactly once")
        check(exactly_once(n1, n2.id, range(1, 21)) and exactly_once(n3, n2.id, range(1, 21)),
              "ring: 1 and 3 got each of 2's frames exactly once")
        check(all(n.alive() for n in nodes), "all nodes still running")

        # restart with the same data dir keeps the peer id
        old = n3.id
        n3.stop()
        n3.start()
        check(n3.id == old, "peer id stable across restart")
        key = os.path.join(n3.dir, "p2p_identity.pem")
        check(oct(os.stat(key).st_mode & 0o777) == "0o600", "identity key file is mode 0600")
    finally:
        for n in nodes:
            n.kill() if n.proc else None
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
