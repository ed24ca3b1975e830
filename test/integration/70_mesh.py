"""70_mesh — five daemons, twenty users, three channels with different home daemons, a few hundred
messages sent concurrently from every daemon. Phase 1 on a line 1-2-3-4-5; a member is removed; phase
2 on a ring (5-1 added) while daemon 3, in the middle, is SIGKILLed and restarted. Then: every member
has every message of their channels exactly once, each sender's messages in the sender's order; the
removed member has nothing sent after the removal; daemons with no member in a channel hold no row of
it; every daemon agrees on the epochs (no fork logged)."""
import os, random, sqlite3, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from chat70 import Daemon, check, code_of, link_chain, safe, summary, wait_until  # noqa: E402
import grpc  # noqa: E402

random.seed(70)
N_D, PER_D = 5, 4


def main():
    ds = [Daemon(f"m{i + 1}") for i in range(N_D)]
    streams = []
    try:
        for d in ds:
            d.start()
        users = []  # dicts: name, d (index), token, id
        for di in range(N_D):
            for k in range(PER_D):
                name = f"u{di + 1}{k}"
                r = ds[di].call("CreateProfile", username=name, password="pw")
                users.append({"name": name, "d": di, "tok": r.session_token, "id": r.user.id})
        firsts = [next(u for u in users if u["d"] == di) for di in range(N_D)]
        check(link_chain(ds, [u["tok"] for u in firsts]), "line 1-2-3-4-5 linked")

        def D(u):
            return ds[u["d"]]

        def mk_channel(owner, name):
            sp = D(owner).call("CreateSpace", session_token=owner["tok"], name=name + "-space").space
            return D(owner).call("CreateChannel", session_token=owner["tok"], space_id=sp.id, name=name).channel.id

        chans = {}
        members = {}
        chans["A"] = mk_channel(users[0], "A")
        members["A"] = list(users)
        owner_b = next(u for u in users if u["d"] == 1)
        chans["B"] = mk_channel(owner_b, "B")
        members["B"] = [u for u in users if u["d"] in (0, 1, 2)]
        chans["C"] = mk_channel(users[1], "C")
        members["C"] = [u for u in users if u["d"] in (0, 1)]
        owners = {"A": users[0], "B": owner_b, "C": users[1]}

        t0 = time.time()
        add_ok = True
        for cn in ("A", "B", "C"):
            o = owners[cn]
            for u in members[cn]:
                if u is o:
                    continue
                ok = wait_until(lambda: code_of(lambda: D(o).call("AddMemberToChannel", session_token=o["tok"],
                                                                  channel_id=chans[cn], user_id=u["id"])) == grpc.StatusCode.OK, 20, 0.2)
                add_ok = add_ok and bool(ok)
        check(add_ok, f"37 AddMemberToChannel by user id ({time.time() - t0:.1f}s)")

        def can_read(u, cn):
            return safe(lambda: D(u).call("GetMessages", session_token=u["tok"], channel_id=chans[cn]) is not None, False)
        ok = all(wait_until(lambda: can_read(u, cn), 20) for cn in chans for u in members[cn])
        check(ok, "every added member's daemon joined by itself")

        for di in (0, 1, 3, 4):
            u = next(u for u in users if u["d"] == di and u["name"].endswith("1"))
            streams.append((u, D(u).stream(u["tok"], chans["A"])))
        time.sleep(0.5)

        sent = []  # (channel name, sender name, content) in global send order per thread
        lock = threading.Lock()
        errors = []

        def sender(di, count, tag):
            local = [u for u in users if u["d"] == di]
            rnd = random.Random(di * 100 + len(tag))
            for j in range(count):
                u = rnd.choice(local)
                cns = [cn for cn in chans if u in members[cn] and u["name"] not in removed]
                if not cns:
                    continue
                cn = rnd.choice(cns)
                content = f"{tag}-{u['name']}-{j}"
                try:
                    D(u).call("SendMessage", session_token=u["tok"], channel_id=chans[cn], content=content)
                    with lock:
                        sent.append((cn, u["name"], content))
                except grpc.RpcError as e:
                    errors.append((u["name"], e.code()))

        def run_phase(daemons, count, tag):
            th = [threading.Thread(target=sender, args=(di, count, tag)) for di in daemons]
            for t in th:
                t.start()
            return th

        removed = set()
        t0 = time.time()
        for t in run_phase(range(N_D), 30, "p1"):
            t.join(120)
        check(not errors, f"phase 1: {len(sent)} messages sent from five daemons on a line ({time.time() - t0:.1f}s) {errors[:3]}")

        # a member removed between the phases
        victim = next(u for u in users if u["d"] == 3 and u["name"].endswith("2"))
        r = D(users[0]).call("RemoveMemberFromChannel", session_token=users[0]["tok"], channel_id=chans["A"],
                             user_id=victim["id"])
        check(r.success, "RemoveMemberFromChannel mid-run")
        removed.add(victim["name"])
        members["A"] = [u for u in members["A"] if u is not victim]
        probes = [0]

        def probe():
            # until its daemon applies the removal the victim may still send (in the old epoch)
            c = code_of(lambda: D(victim).call("SendMessage", session_token=victim["tok"], channel_id=chans["A"],
                                                content=f"probe-{probes[0]}"))
            if c == grpc.StatusCode.OK:
                sent.append(("A", victim["name"], f"probe-{probes[0]}"))
                probes[0] += 1
            return c == grpc.StatusCode.PERMISSION_DENIED
        check(wait_until(probe, 10), "the removed member's daemon applied the removal")
        n_before_removal = len([s for s in sent if s[0] == "A"])
        time.sleep(0.5)

        # phase 2: a ring, and daemon 3 killed and restarted while the others send
        r = ds[4].call("ConnectPeer", session_token=firsts[4]["tok"], peer_address=ds[0].listen)
        check(r.success, "ring: 5-1 linked")
        t0 = time.time()
        th = run_phase([0, 1, 3, 4], 30, "p2")
        time.sleep(0.3)
        ds[2].kill()
        for t in th:
            t.join(120)
        ds[2].start()
        for u in users:
            if u["d"] == 2:
                u["tok"] = ds[2].call("Unlock", username=u["name"], password="pw").session_token
        for t in run_phase([2], 10, "p3"):
            t.join(60)
        check(not errors, f"phase 2: {len(sent)} messages in all, daemon 3 SIGKILLed and restarted "
                          f"({time.time() - t0:.1f}s) {errors[:3]}")

        # every member has every message of their channels, exactly once, in each sender's order
        def expected(cn, u):
            msgs = [s for s in sent if s[0] == cn]
            if u["name"] in removed:
                msgs = msgs[:n_before_removal]
            return msgs

        def complete(u, cn):
            ms = safe(lambda: D(u).call("GetMessages", session_token=u["tok"], channel_id=chans[cn], limit=500).messages, [])
            return len(ms) >= len(expected(cn, u))
        t0 = time.time()
        all_there = all(wait_until(lambda: complete(u, cn), 30, 0.2) for cn in chans for u in members[cn])
        check(all_there, f"every member's daemon caught up ({time.time() - t0:.1f}s)")
        exact, ordered = True, True
        uid = {u["id"]: u["name"] for u in users}
        for cn in chans:
            for u in members[cn]:
                ms = safe(lambda: D(u).call("GetMessages", session_token=u["tok"], channel_id=chans[cn],
                                            limit=500).messages, None)
                if ms is None:
                    exact = False
                    print(f"  {u['name']} cannot read {cn}")
                    continue
                got = [(cn, uid.get(m.sender_id), m.content) for m in ms]
                want = expected(cn, u)
                if sorted(got) != sorted(want) or len(set(m.id for m in ms)) != len(ms):
                    exact = False
                    print(f"  {u['name']} in {cn}: {len(got)} stored, {len(want)} expected")
                for s in {w[1] for w in want}:
                    if [g for g in got if g[1] == s] != [w for w in want if w[1] == s]:
                        ordered = False
        check(exact, "every member has every message of their channels exactly once, with the right senders")
        check(ordered, "each sender's messages are in the sender's order on every daemon")

        hist = D(victim).call("GetMessages", session_token=victim["tok"], channel_id=chans["A"], limit=500).messages
        check(not any(m.content.startswith(("p2-", "p3-")) for m in hist),
              f"the removed member has nothing sent after the removal ({len(hist)} messages kept)")
        for u, s in streams:
            ok = wait_until(lambda: len(s.messages()) == len(expected("A", u)), 10)
            check(ok, f"{u['name']}'s stream on channel A got each of its {len(expected('A', u))} messages once "
                      f"({len(s.messages())})")

        for di in (2, 3, 4):
            db = sqlite3.connect(f"file:{ds[di].dir}/spacepanda.db?mode=ro", uri=True)
            n_msg = db.execute("SELECT count(*) FROM messages WHERE channel_id = ?", (chans["C"],)).fetchone()[0]
            n_ch = db.execute("SELECT count(*) FROM channels WHERE channel_id = ?", (chans["C"],)).fetchone()[0]
            n_st = db.execute("SELECT count(*) FROM mls_state WHERE channel_id = ?", (chans["C"],)).fetchone()[0]
            db.close()
            check(n_msg == 0 and n_ch == 0 and n_st == 0, f"daemon {di + 1} (no member in C) holds nothing of C")
        time.sleep(0.5)
        check(not any("FORK" in d.log() for d in ds), "no fork logged")
    finally:
        for _, s in streams:
            s.cancel()
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
