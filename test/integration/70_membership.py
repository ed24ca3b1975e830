"""70_membership — invites, joins, adds and removals across three daemons (chain 1-2-3), and
their failure paths: a malformed, reused or foreign invite stores nothing; wrong ids; a user who
is not a member is refused; a commit made on a daemon that is not the channel's home goes through
the home daemon; AddMemberToChannel by user id (the key package comes from the network directory,
the Welcome travels to the new member's daemon, which joins by itself); a removed member keeps
their history, reads nothing sent afterwards, and may no longer send; two members committing at
the same moment both succeed (one is retried) and every daemon ends in the same epoch."""
import os, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from chat70 import Daemon, check, code_of, link_chain, safe, summary, wait_until  # noqa: E402
import grpc  # noqa: E402

SC = grpc.StatusCode


def main():
    ds = [Daemon("d1"), Daemon("d2"), Daemon("d3")]
    streams = []
    try:
        for d in ds:
            d.start()
        prof = {}
        for name, i in [("alice", 0), ("bob", 1), ("charlie", 2), ("dave", 2), ("eve", 0), ("frank", 1)]:
            r = ds[i].call("CreateProfile", username=name, password="pw-" + name)
            prof[name] = (ds[i], r.session_token, r.user.id)
        D = lambda n: prof[n][0]  # noqa: E731
        T = lambda n: prof[n][1]  # noqa: E731
        U = lambda n: prof[n][2]  # noqa: E731
        check(link_chain(ds, [T("alice"), T("bob"), T("charlie")]), "chain 1-2-3 linked")

        sp = D("alice").call("CreateSpace", session_token=T("alice"), name="Ops").space
        ch = D("alice").call("CreateChannel", session_token=T("alice"), space_id=sp.id, name="ops").channel

        def invite(inviter, kp):
            return D(inviter).call("CreateChannelInvite", session_token=T(inviter), channel_id=ch.id, key_package=kp)

        def join(who, inv, **over):
            kw = dict(session_token=T(who), invite_token=inv.invite_token, ratchet_tree=inv.ratchet_tree,
                      space_id=inv.space_id, channel_name=inv.channel_name, channel_id=inv.channel_id)
            kw.update(over)
            return D(who).call("JoinChannel", **kw)

        def kp(who):
            return D(who).call("GenerateKeyPackage", session_token=T(who)).key_package

        # --- invites and their failure paths ---
        check(code_of(lambda: invite("alice", b"\x00\x01\x00\x05garbage")) == SC.INVALID_ARGUMENT,
              "CreateChannelInvite with a malformed key package: INVALID_ARGUMENT")
        check(code_of(lambda: D("alice").call("CreateChannelInvite", session_token=T("alice"), channel_id="xyz",
                                              key_package=kp("bob"))) == SC.INVALID_ARGUMENT,
              "CreateChannelInvite with a malformed channel id: INVALID_ARGUMENT")
        check(code_of(lambda: D("eve").call("CreateChannelInvite", session_token=T("eve"), channel_id=ch.id,
                                            key_package=kp("bob"))) == SC.PERMISSION_DENIED,
              "CreateChannelInvite by a non-member: PERMISSION_DENIED")
        inv_bob = invite("alice", kp("bob"))
        check(code_of(lambda: join("bob", inv_bob, invite_token=b"\x00\x01\x00\x03junk")) == SC.INVALID_ARGUMENT,
              "JoinChannel with a malformed invite: INVALID_ARGUMENT")
        check(code_of(lambda: join("frank", inv_bob)) == SC.FAILED_PRECONDITION,
              "JoinChannel with someone else's invite (same daemon): FAILED_PRECONDITION")
        check(len(D("frank").call("ListSpaces", session_token=T("frank")).spaces) == 0,
              "a refused invite stores nothing (ListSpaces empty)")
        check(code_of(lambda: join("bob", inv_bob, channel_id="ab" * 32)) == SC.INVALID_ARGUMENT,
              "JoinChannel with a channel id that is not the group's: INVALID_ARGUMENT")
        check(join("bob", inv_bob).success, "bob joins")
        check(code_of(lambda: invite("alice", kp("bob"))) == SC.ALREADY_EXISTS,
              "inviting a user who is already a member: ALREADY_EXISTS")
        check(code_of(lambda: join("bob", inv_bob)) == SC.FAILED_PRECONDITION,
              "the same invite again: FAILED_PRECONDITION")

        # --- a commit proposed by a daemon that is not the channel's home (Bob on 2 invites Charlie) ---
        inv_ch = invite("bob", kp("charlie"))
        check(inv_ch.channel_id == ch.id and len(inv_ch.invite_token) > 0,
              "CreateChannelInvite on a non-home daemon is ordered by the home daemon")
        check(code_of(lambda: join("dave", inv_ch)) == SC.FAILED_PRECONDITION,
              "charlie's invite used by dave: FAILED_PRECONDITION")
        check(join("charlie", inv_ch).success, "charlie joins")

        # --- wrong ids, non-members ---
        check(code_of(lambda: D("alice").call("GetMessages", session_token=T("alice"), channel_id="nope"))
              == SC.INVALID_ARGUMENT, "GetMessages with a malformed channel id: INVALID_ARGUMENT")
        check(code_of(lambda: D("alice").call("GetMessages", session_token=T("alice"), channel_id="cd" * 32))
              == SC.NOT_FOUND, "GetMessages on an unknown channel: NOT_FOUND")
        check(code_of(lambda: D("alice").call("GetMessages", session_token=T("alice"), channel_id=ch.id,
                                              before="0f8fad5b-d9cb-469f-a165-70867728950e")) == SC.NOT_FOUND,
              "GetMessages before an unknown message: NOT_FOUND")
        check(code_of(lambda: D("alice").call("SendMessage", session_token="", channel_id=ch.id, content="x"))
              == SC.UNAUTHENTICATED, "SendMessage without a token: UNAUTHENTICATED")
        check(code_of(lambda: D("alice").call("SendMessage", session_token=T("alice"), channel_id="cd" * 32,
                                              content="x")) == SC.NOT_FOUND, "SendMessage to an unknown channel: NOT_FOUND")
        check(code_of(lambda: D("alice").call("SendMessage", session_token=T("alice"), channel_id=ch.id,
                                              content="")) == SC.INVALID_ARGUMENT, "empty content: INVALID_ARGUMENT")
        check(code_of(lambda: D("eve").call("SendMessage", session_token=T("eve"), channel_id=ch.id, content="x"))
              == SC.PERMISSION_DENIED, "SendMessage by a non-member: PERMISSION_DENIED")
        check(code_of(lambda: D("eve").call("GetMessages", session_token=T("eve"), channel_id=ch.id))
              == SC.PERMISSION_DENIED, "GetMessages by a non-member: PERMISSION_DENIED")
        s_eve = D("eve").stream(T("eve"), ch.id)
        s_eve.t.join(5)
        check(s_eve.error == SC.PERMISSION_DENIED, "StreamMessages by a non-member: PERMISSION_DENIED")

        # --- AddMemberToChannel by user id: dave (daemon 3) from the key-package directory ---
        check(code_of(lambda: D("alice").call("AddMemberToChannel", session_token=T("alice"), channel_id=ch.id,
                                              user_id="not-a-uuid")) == SC.INVALID_ARGUMENT,
              "AddMemberToChannel with a malformed user id: INVALID_ARGUMENT")
        check(code_of(lambda: D("alice").call("AddMemberToChannel", session_token=T("alice"), channel_id=ch.id,
                                              user_id="0f8fad5b-d9cb-469f-a165-70867728950e"))
              == SC.FAILED_PRECONDITION, "AddMemberToChannel for a user nobody published: FAILED_PRECONDITION")
        r = wait_until(lambda: code_of(lambda: D("alice").call("AddMemberToChannel", session_token=T("alice"),
                                                                channel_id=ch.id, user_id=U("dave"))) == SC.OK, 10)
        check(r, "AddMemberToChannel(dave) by user id succeeds")
        # bob's daemon must first have applied alice's commit, or its Add races it (and is retried)
        check(wait_until(lambda: U("dave") in [m for c in safe(lambda: D("bob").call(
            "ListChannels", session_token=T("bob"), space_id=sp.id).channels, []) if c.id == ch.id
            for m in c.member_ids], 10), "bob's daemon applied the commit that added dave")
        check(code_of(lambda: D("bob").call("AddMemberToChannel", session_token=T("bob"), channel_id=ch.id,
                                            user_id=U("dave"))) == SC.ALREADY_EXISTS,
              "adding a member again (from another daemon): ALREADY_EXISTS")
        check(wait_until(lambda: [c.id for c in safe(lambda: D("dave").call("ListChannels", session_token=T("dave"),
                                                                            space_id=sp.id).channels, [])] == [ch.id], 10),
              "dave's daemon joined by itself (ListChannels shows the channel)")

        members = ["alice", "bob", "charlie", "dave"]
        for n in members:
            streams.append((n, D(n).stream(T(n), ch.id)))
        time.sleep(0.5)
        sent = []
        for n in members:
            sent.append(D(n).call("SendMessage", session_token=T(n), channel_id=ch.id, content=f"hi from {n}"))
        want = {(U(n), f"hi from {n}") for n in members}
        for n in members:
            ok = wait_until(lambda: {(m.sender_id, m.content) for m in
                                     D(n).call("GetMessages", session_token=T(n), channel_id=ch.id).messages} == want, 15)
            check(ok, f"{n} has the four messages")
        for n, s in streams:
            check(wait_until(lambda: len(s.messages()) == 4, 10), f"{n}'s stream got four messages")

        # --- GetMessages paging: newest `limit` older than `before`, oldest first ---
        all_ms = D("alice").call("GetMessages", session_token=T("alice"), channel_id=ch.id).messages
        last2 = D("alice").call("GetMessages", session_token=T("alice"), channel_id=ch.id, limit=2).messages
        check([m.id for m in last2] == [m.id for m in all_ms[-2:]], "limit=2: the two newest, oldest first")
        page = D("alice").call("GetMessages", session_token=T("alice"), channel_id=ch.id, limit=2,
                               before=all_ms[-1].id).messages
        check([m.id for m in page] == [m.id for m in all_ms[-3:-1]], "before=newest, limit=2: the two before it")
        mine = [m for m in all_ms if m.sender_id == U("alice")]
        check(mine and mine[0].id == sent[0].id, "alice's own message is stored under the id SendMessage returned")

        # --- removal (proposed by bob on a non-home daemon): charlie reads nothing after ---
        r = D("bob").call("RemoveMemberFromChannel", session_token=T("bob"), channel_id=ch.id, user_id=U("charlie"))
        check(r.success, "bob removes charlie")
        s_ch = dict(streams)["charlie"]
        check(wait_until(lambda: not s_ch.t.is_alive(), 10), "charlie's stream ends at the removal")
        check(wait_until(lambda: code_of(lambda: D("charlie").call("SendMessage", session_token=T("charlie"),
                                                                    channel_id=ch.id, content="still here?"))
                         == SC.PERMISSION_DENIED, 10), "SendMessage by the removed member: PERMISSION_DENIED")
        D("alice").call("SendMessage", session_token=T("alice"), channel_id=ch.id, content="after charlie left")
        for n in ["alice", "bob", "dave"]:
            check(wait_until(lambda: any(m.content == "after charlie left" for m in
                                         D(n).call("GetMessages", session_token=T(n), channel_id=ch.id).messages), 10),
                  f"{n} (still a member) gets the message sent after the removal")
        time.sleep(0.5)
        hist = D("charlie").call("GetMessages", session_token=T("charlie"), channel_id=ch.id).messages
        check({(m.sender_id, m.content) for m in hist} == want, "charlie keeps exactly the history they had")
        check(not any(m.content == "after charlie left" for m in s_ch.messages()), "charlie's stream got nothing after")
        check(code_of(lambda: D("charlie").call("RemoveMemberFromChannel", session_token=T("charlie"),
                                                channel_id=ch.id, user_id=U("dave"))) == SC.PERMISSION_DENIED,
              "a removed member cannot commit")

        # --- two members committing at the same moment: both succeed, one after a retry ---
        kps = {"eve": kp("eve"), "frank": kp("frank")}
        res = {}

        def inv(inviter, who):
            try:
                res[who] = invite(inviter, kps[who])
            except grpc.RpcError as e:
                res[who] = e.code()
        th = [threading.Thread(target=inv, args=("alice", "frank")), threading.Thread(target=inv, args=("bob", "eve"))]
        for t in th:
            t.start()
        for t in th:
            t.join(30)
        check(all(not isinstance(res.get(w), SC) and res.get(w) is not None for w in ("eve", "frank")),
              f"concurrent invites by alice (home) and bob both succeed: {[type(res.get(w)).__name__ for w in res]}")
        if all(not isinstance(res.get(w), SC) and res.get(w) is not None for w in ("eve", "frank")):
            check(join("eve", res["eve"]).success and join("frank", res["frank"]).success, "eve and frank join")
            D("frank").call("SendMessage", session_token=T("frank"), channel_id=ch.id, content="frank here")
            for n in ["alice", "bob", "dave", "eve"]:
                check(wait_until(lambda: any(m.content == "frank here" for m in
                                             D(n).call("GetMessages", session_token=T(n), channel_id=ch.id).messages),
                                 10), f"{n} reads frank's message: every daemon is in the same epoch")
        time.sleep(1)
        check(not any("FORK" in d.log() for d in ds), "no daemon logged a fork")
    finally:
        for _, s in streams:
            s.cancel()
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
