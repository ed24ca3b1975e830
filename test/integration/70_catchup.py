"""70_catchup — a daemon that was stopped catches up by itself: while Charlie's daemon (3, at the end
of the chain 1-2-3) is down, Dave joins (a commit: a new epoch) and Alice, Bob and Dave send in that
epoch. When daemon 3 is back it gets the commit and the messages from its neighbour (messages that
arrive before their commit wait for it), and Charlie sees all of them exactly once, in each sender's
order, and is in the same epoch as everyone (a message from Charlie reaches all). Also the contract's
bare encodings: CreateChannelInvite with a bare KeyPackage, JoinChannel with a bare Welcome."""
import os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from chat70 import Daemon, check, code_of, link_chain, safe, summary, wait_until  # noqa: E402
import grpc  # noqa: E402


def main():
    ds = [Daemon("c1"), Daemon("c2"), Daemon("c3", "--log-level", "debug")]
    try:
        for d in ds:
            d.start()
        prof = {}
        for name, i in [("alice", 0), ("bob", 1), ("charlie", 2), ("dave", 1)]:
            r = ds[i].call("CreateProfile", username=name, password="pw-" + name)
            prof[name] = [ds[i], r.session_token, r.user.id]
        D = lambda n: prof[n][0]  # noqa: E731
        T = lambda n: prof[n][1]  # noqa: E731
        U = lambda n: prof[n][2]  # noqa: E731
        check(link_chain(ds, [T("alice"), T("bob"), T("charlie")]), "chain 1-2-3 linked")
        sp = D("alice").call("CreateSpace", session_token=T("alice"), name="Team").space
        ch = D("alice").call("CreateChannel", session_token=T("alice"), space_id=sp.id, name="general").channel.id

        def add(who, bare=False):
            kp = D(who).call("GenerateKeyPackage", session_token=T(who)).key_package
            if bare:
                kp = kp[4:]  # a bare KeyPackage, without the MLSMessage header
            inv = D("alice").call("CreateChannelInvite", session_token=T("alice"), channel_id=ch, key_package=kp)
            welcome = inv.invite_token[4:] if bare else inv.invite_token
            return D(who).call("JoinChannel", session_token=T(who), invite_token=welcome,
                               ratchet_tree=inv.ratchet_tree, space_id=inv.space_id,
                               channel_name=inv.channel_name, channel_id=inv.channel_id).success
        check(add("bob", bare=True), "a bare KeyPackage in CreateChannelInvite and a bare Welcome in JoinChannel work")
        check(add("charlie"), "charlie joins")

        ds[2].stop()
        check(add("dave"), "dave joins while daemon 3 is down (a new epoch)")
        sent = []
        for k in range(3):
            for who in ("alice", "bob", "dave"):
                text = f"{who}-{k}"
                D(who).call("SendMessage", session_token=T(who), channel_id=ch, content=text)
                sent.append((who, text))

        ds[2].start()
        prof["charlie"][1] = ds[2].call("Unlock", username="charlie", password="pw-charlie").session_token
        want = {(U(w), t) for w, t in sent}

        def got():
            ms = safe(lambda: D("charlie").call("GetMessages", session_token=T("charlie"), channel_id=ch).messages, [])
            return ms if {(m.sender_id, m.content) for m in ms} == want else None
        ms = wait_until(got, 20)
        check(ms is not None, "daemon 3, back, has every message sent while it was down")
        if ms:
            check(len(ms) == len(sent), "exactly once")
            for who in ("alice", "bob", "dave"):
                order = [m.content for m in ms if m.sender_id == U(who)]
                check(order == [t for w, t in sent if w == who], f"{who}'s messages in {who}'s order")
        D("charlie").call("SendMessage", session_token=T("charlie"), channel_id=ch, content="charlie is back")
        for who in ("alice", "bob", "dave"):
            check(wait_until(lambda: any(m.content == "charlie is back" for m in
                                         D(who).call("GetMessages", session_token=T(who), channel_id=ch).messages), 10),
                  f"{who} reads charlie's message: daemon 3 is in the current epoch")
        time.sleep(0.5)
        check(not any("FORK" in d.log() for d in ds), "no fork logged")
        waited = ds[2].log().count("waits for its commit")
        print(f"     ({waited} messages reached daemon 3 before their commit and waited for it)")
    finally:
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
