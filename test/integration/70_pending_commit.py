"""70_pending_commit — a member's own commit outlives its daemon (chat/pending.c): daemon H is the
channel's home (alice, carol, dave), daemon M a member's (bob), linked H-M.

1. Lost while M was down: H is stopped; bob removes carol (the proposal waits in M's log, bob's
   client gives up after 1 s); M is killed (SIGKILL) with one pending-commit row in its store. H
   comes back and alice takes that epoch first (she adds dave). M comes back: bob's proposal has
   lost its epoch; M rebuilds it on the new one by itself: carol is removed on both daemons, dave
   stays, the row is gone, bob and alice read each other.
2. Accepted while M was down: H is stopped; bob removes dave; M is killed; H comes back, then M:
   H accepts the proposal (its epoch is free; the copy M proposes again on restart is ignored), M
   applies its own commit from the staged state it kept: dave is removed everywhere, the row is
   gone, everyone is in the same epoch, no fork is logged."""
import os, sqlite3, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from chat70 import Daemon, check, code_of, link_chain, safe, summary, wait_until  # noqa: E402
import grpc  # noqa: E402

SC = grpc.StatusCode


def pend_rows(d):
    db = sqlite3.connect(os.path.join(d.dir, "spacepanda.db"), timeout=5)
    try:
        return db.execute("SELECT count(*) FROM outbox WHERE dest_peer = 'pend'").fetchone()[0]
    finally:
        db.close()


def main():
    H, M = Daemon("h", "--log-level", "info"), Daemon("m", "--log-level", "info")
    try:
        H.start()
        M.start()
        prof = {}
        for name, d in [("alice", H), ("carol", H), ("dave", H), ("bob", M)]:
            r = d.call("CreateProfile", username=name, password="pw-" + name)
            prof[name] = [d, r.session_token, r.user.id]
        D = lambda n: prof[n][0]  # noqa: E731
        T = lambda n: prof[n][1]  # noqa: E731
        U = lambda n: prof[n][2]  # noqa: E731

        def unlock(*names):
            for n in names:
                prof[n][1] = D(n).call("Unlock", username=n, password="pw-" + n).session_token

        check(link_chain([H, M], [T("alice"), T("bob")]), "H and M linked")
        sp = H.call("CreateSpace", session_token=T("alice"), name="Team").space
        ch = H.call("CreateChannel", session_token=T("alice"), space_id=sp.id, name="general").channel.id

        def add(by, who):
            return wait_until(lambda: code_of(lambda: D(by).call("AddMemberToChannel", session_token=T(by),
                                                                 channel_id=ch, user_id=U(who))) == SC.OK, 10)

        def members(viewer):
            cs = safe(lambda: D(viewer).call("ListChannels", session_token=T(viewer), space_id=sp.id).channels, [])
            return {m for c in cs if c.id == ch for m in c.member_ids}

        def talk(a, b, text):
            D(a).call("SendMessage", session_token=T(a), channel_id=ch, content=text)
            return wait_until(lambda: any(m.content == text for m in safe(lambda: D(b).call(
                "GetMessages", session_token=T(b), channel_id=ch).messages, [])), 10)

        check(add("alice", "bob"), "alice adds bob (M) by user id")
        check(add("alice", "carol"), "alice adds carol")
        check(wait_until(lambda: U("carol") in members("bob"), 10), "M applied the add of carol")
        check(pend_rows(M) == 0, "M: no pending commit to start with")

        # --- 1: bob's commit loses its epoch while M is down ---
        H.stop()
        check(code_of(lambda: M.call("RemoveMemberFromChannel", _timeout=1, session_token=T("bob"),
                                     channel_id=ch, user_id=U("carol"))) == SC.DEADLINE_EXCEEDED,
              "bob removes carol while H is down: his client gives up")
        check(wait_until(lambda: pend_rows(M) == 1, 5), "M keeps the pending commit in its store")
        M.kill()
        H.start()
        unlock("alice", "carol", "dave")
        check(code_of(lambda: H.call("AddMemberToChannel", session_token=T("alice"), channel_id=ch,
                                     user_id=U("dave"))) == SC.OK, "alice takes the epoch first: she adds dave")
        M.start()
        unlock("bob")
        want = {U("alice"), U("bob"), U("dave")}
        check(wait_until(lambda: members("alice") == want and members("bob") == want, 20),
              "back up, M rebuilds bob's commit on the new epoch: carol removed, dave kept, on both daemons")
        check(wait_until(lambda: pend_rows(M) == 0, 5), "M: the pending row is gone")
        check("resumed" in M.log(), "M's log says the commit was resumed")
        check(wait_until(lambda: code_of(lambda: H.call("SendMessage", session_token=T("carol"), channel_id=ch,
                                                        content="still in?")) == SC.PERMISSION_DENIED, 10),
              "carol can no longer send")
        check(talk("bob", "dave", "bob after the retry"), "dave reads bob (same epoch)")
        check(talk("alice", "bob", "alice after the retry"), "bob reads alice")

        # --- 2: bob's commit is accepted while M is down ---
        H.stop()
        check(code_of(lambda: M.call("RemoveMemberFromChannel", _timeout=1, session_token=T("bob"),
                                     channel_id=ch, user_id=U("dave"))) == SC.DEADLINE_EXCEEDED,
              "bob removes dave while H is down: his client gives up")
        check(wait_until(lambda: pend_rows(M) == 1, 5), "M keeps the pending commit")
        M.kill()
        H.start()
        unlock("alice", "dave")
        M.start()
        unlock("bob")
        want = {U("alice"), U("bob")}
        check(wait_until(lambda: members("alice") == want and members("bob") == want, 20),
              "H accepts the proposal when M is back; M follows its own commit: dave removed on both")
        check(wait_until(lambda: pend_rows(M) == 0, 5), "M: the pending row is gone")
        check(talk("bob", "alice", "bob after the accept"), "alice reads bob (same epoch)")
        check(talk("alice", "bob", "alice after the accept"), "bob reads alice")
        check(code_of(lambda: H.call("SendMessage", session_token=T("dave"), channel_id=ch, content="hello?"))
              == SC.PERMISSION_DENIED, "dave can no longer send")
        time.sleep(0.3)
        for d in (H, M):
            log = d.log()
            check("FORK" not in log and "out of step" not in log and "not valid here" not in log,
                  f"{d.name}: no fork, no commit out of step")
    finally:
        for d in (H, M):
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
