"""70_crash_window — a receiving daemon streams a message at once and stores it a few
milliseconds later (net's deferred commit, --recv-commit-ms; widened here to 300 ms so the kill
reliably lands in it): SIGKILL daemons 2 and 3 of the chain 1-2-3 the moment Charlie's stream on
daemon 3 has the last of a burst, so that they die with messages streamed but not yet stored. After the restart catch-up brings them back: Bob and Charlie
each have every message exactly once, in Alice's order, and the channel goes on working. The test
asserts that the kill did land in that window at least once (it retries the burst up to 5 times)."""
import os, sqlite3, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from chat70 import B, Daemon, alice_bob_charlie, check, pb, safe, summary, wait_until  # noqa: E402

BURST = 30
WINDOW = ["--recv-commit-ms", "300"]


def stored(d, ch):
    """messages of channel ch in the dead daemon's store file (what it had committed)."""
    db = sqlite3.connect(os.path.join(d.dir, "spacepanda.db"))
    try:
        return db.execute("SELECT count(*) FROM messages WHERE channel_id = ?", (ch,)).fetchone()[0]
    finally:
        db.close()


def main():
    r = subprocess.run([os.path.join(B, "spacepandad"), "--recv-commit-ms", "0"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 2 and "--recv-commit-ms" in r.stderr, "--recv-commit-ms 0 is a usage error")
    ds = [Daemon("w1"), Daemon("w2", *WINDOW), Daemon("w3", *WINDOW)]
    try:
        for d in ds:
            d.start()
        tok, uid, ch = alice_bob_charlie(ds, "window")
        a, b, c = ds
        sent = []
        hit = 0
        for attempt in range(5):
            stream = c.stream_stub(pb.StreamMessagesRequest(session_token=tok["charlie"], channel_id=ch))
            time.sleep(0.3)  # the stream is registered before the burst
            texts = [f"burst{attempt}-{k:02d}" for k in range(BURST)]
            futs = [a.stubs["SendMessage"].future(pb.SendMessageRequest(session_token=tok["alice"], channel_id=ch,
                                                                         content=t)) for t in texts]
            n = 0
            for m in stream:
                n += m.content.startswith(f"burst{attempt}-")
                if n == BURST:
                    c.kill()  # at once: the last messages were streamed, their commit is ~5 ms away
                    b.kill()
                    break
            check(n == BURST, f"burst {attempt}: charlie's stream had all {BURST} before the kill")
            check(all(f.result().id for f in futs), f"burst {attempt}: every SendMessage answered")
            sent += texts
            left3, left2 = BURST * (attempt + 1) - stored(c, ch), BURST * (attempt + 1) - stored(b, ch)
            print(f"     burst {attempt}: at the kill daemon 3 had not yet stored {left3}, daemon 2 {left2}")
            b.start()
            c.start()
            tok["bob"] = b.call("Unlock", username="bob", password="pw-bob").session_token
            tok["charlie"] = c.call("Unlock", username="charlie", password="pw-charlie").session_token
            for who, d in (("bob", b), ("charlie", c)):
                def history():
                    ms = safe(lambda: d.call("GetMessages", session_token=tok[who], channel_id=ch, limit=500).messages, [])
                    return ms if len([m for m in ms if m.sender_id == uid["alice"]]) >= len(sent) else None
                ms = wait_until(history, 20) or []
                got = [m.content for m in ms if m.sender_id == uid["alice"]]
                check(got == sent, f"burst {attempt}: {who} has every message exactly once, in order "
                                   f"({len(got)} of {len(sent)})")
            if left3 > 0:
                hit += 1
                break
        check(hit > 0, "a kill landed between daemon 3 streaming a message and storing it")
        # the channel still works both ways after the restarts
        c.call("SendMessage", session_token=tok["charlie"], channel_id=ch, content="charlie after")
        a.call("SendMessage", session_token=tok["alice"], channel_id=ch, content="alice after")
        for who, d in (("alice", a), ("bob", b), ("charlie", c)):
            check(wait_until(lambda: {"charlie after", "alice after"} <= {m.content for m in safe(
                lambda: d.call("GetMessages", session_token=tok[who], channel_id=ch).messages, [])}, 10),
                  f"{who} reads both messages sent after the restarts")
        check(not any("FORK" in d.log() for d in ds), "no fork logged")
    finally:
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
