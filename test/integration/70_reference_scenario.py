"""70_reference_scenario — the reference scenario of API.md on three real daemons, driven by
python3-grpcio: Alice on daemon 1, Bob on 2, Charlie on 3, linked 1-2 and 2-3 only with
ConnectPeer (listen addresses from GetNetworkStatus). Alice creates a space and a channel; Bob and
Charlie each hand a key package to Alice's daemon (CreateChannelInvite) and the invite to their
own daemon (JoinChannel). StreamMessages is opened on every daemon, then each user sends one
message through their own daemon: every user sees all three, with the right sender ids, by
GetMessages and by the stream."""
import os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from chat70 import Daemon, check, code_of, link_chain, summary, wait_until  # noqa: E402
import grpc  # noqa: E402


def main():
    ds = [Daemon("d1"), Daemon("d2"), Daemon("d3")]
    streams = []
    try:
        for d in ds:
            d.start()
        names = ["alice", "bob", "charlie"]
        users = [d.call("CreateProfile", username=n, password=f"{n}-pw") for d, n in zip(ds, names)]
        tok = [u.session_token for u in users]
        uid = [u.user.id for u in users]
        check(link_chain(ds, tok), "ConnectPeer 2->1 and 3->2 succeed")
        check(wait_until(lambda: len(ds[1].net(tok[1]).connected_peers) == 2, 10), "daemon 2 is linked to both")
        check(sorted(ds[0].net(tok[0]).connected_peers) == [ds[1].peer_id] and
              sorted(ds[2].net(tok[2]).connected_peers) == [ds[1].peer_id], "1 and 3 are not linked directly")

        sp = ds[0].call("CreateSpace", session_token=tok[0], name="Team", description="the team").space
        ch = ds[0].call("CreateChannel", session_token=tok[0], space_id=sp.id, name="general").channel
        check(len(ch.id) == 64, "CreateChannel: a 64-hex channel id (the MLS group id)")

        for i in (1, 2):
            kp = ds[i].call("GenerateKeyPackage", session_token=tok[i]).key_package
            check(len(kp) > 100 and kp[:4] == b"\x00\x01\x00\x05", f"{names[i]}: key package is an MLSMessage(KeyPackage)")
            inv = ds[0].call("CreateChannelInvite", session_token=tok[0], channel_id=ch.id, key_package=kp)
            check(inv.invite_token[:4] == b"\x00\x01\x00\x03" and len(inv.commit) > 0 and len(inv.ratchet_tree) > 0,
                  f"{names[i]}: invite has a Welcome, a commit and a ratchet tree")
            check(inv.space_id == sp.id and inv.channel_name == "general" and inv.channel_id == ch.id,
                  f"{names[i]}: invite names the space and channel")
            r = ds[i].call("JoinChannel", session_token=tok[i], invite_token=inv.invite_token,
                           ratchet_tree=inv.ratchet_tree, space_id=inv.space_id, channel_name=inv.channel_name,
                           channel_id=inv.channel_id)
            check(r.success and r.channel_id == ch.id, f"{names[i]}: JoinChannel succeeds ({r.message})")
            spaces = ds[i].call("ListSpaces", session_token=tok[i]).spaces
            check([s.id for s in spaces] == [sp.id], f"{names[i]}: ListSpaces shows the space on their daemon")
            chans = ds[i].call("ListChannels", session_token=tok[i], space_id=sp.id).channels
            check([c.id for c in chans] == [ch.id] and chans[0].name == "general",
                  f"{names[i]}: ListChannels shows the channel on their daemon")

        for i in range(3):
            streams.append(ds[i].stream(tok[i], ch.id))
        time.sleep(0.5)  # the streams are registered on the daemons before anyone sends

        texts = ["Hello from Alice", "Hello from Bob", "Hello from Charlie"]
        sent = []
        for i in range(3):
            m = ds[i].call("SendMessage", session_token=tok[i], channel_id=ch.id, content=texts[i])
            check(m.sender_id == uid[i] and m.content == texts[i] and m.is_e2ee and len(m.id) == 36,
                  f"{names[i]}: SendMessage returns the stored message")
            sent.append(m)

        want = {(uid[i], texts[i]) for i in range(3)}
        for i in range(3):
            def got():
                ms = ds[i].call("GetMessages", session_token=tok[i], channel_id=ch.id).messages
                return ms if {(m.sender_id, m.content) for m in ms} == want else None
            ms = wait_until(got, 15)
            check(ms is not None and len(ms) == 3, f"{names[i]}: GetMessages on daemon {i + 1} has all three messages")
            if ms:
                check({m.id for m in ms} == {m.id for m in sent} and
                      all(m.timestamp == next(s.timestamp for s in sent if s.id == m.id) for m in ms),
                      f"{names[i]}: same ids and timestamps as the senders'")
                check(all(m.is_e2ee and m.channel_id == ch.id for m in ms), f"{names[i]}: is_e2ee, channel id")
        for i in range(3):
            ok = wait_until(lambda: {(m.sender_id, m.content) for m in streams[i].messages()} == want, 10)
            check(ok and len(streams[i].messages()) == 3,
                  f"{names[i]}: StreamMessages opened before the sends got all three, once each")
    finally:
        for s in streams:
            s.cancel()
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
