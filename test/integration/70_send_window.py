"""70_send_window — a message sent on a daemon leaves at once, and the group commit that stores it
(and answers SendMessage) follows within --send-commit-ms; widened here to 5000 ms on daemon 1 of
the chain 1-2-3 so that a SIGKILL reliably lands in between. While Alice's five sends wait for
their commit, Bob and Charlie already have them and daemon 1's store file has none; then daemon 1
is killed: the five calls fail, and the restarted daemon, which does not know those five were
sent, must not reuse their MLS generations or frame numbers (the others would drop the new
messages as repeats): Alice's next messages reach Bob and Charlie, who keep the five as well, each
exactly once. Also: --send-commit-ms 0 is a usage error."""
import os, sqlite3, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from chat70 import B, Daemon, alice_bob_charlie, check, pb, summary, texts_from, wait_until  # noqa: E402

WINDOW_MS = 5000  # so the commit waits (a send alone is committed after a third of it)
SKIP_LOG = "the last stop was not clean"


def stored(d, ch, prefix):
    """messages of channel ch starting with prefix in d's store file (what it has committed)."""
    db = sqlite3.connect(os.path.join(d.dir, "spacepanda.db"))
    try:
        return db.execute("SELECT count(*) FROM messages WHERE channel_id = ? AND content LIKE ?",
                          (ch, prefix + "%")).fetchone()[0]
    finally:
        db.close()


def main():
    r = subprocess.run([os.path.join(B, "spacepandad"), "--send-commit-ms", "0"], capture_output=True, text=True,
                       timeout=20)
    check(r.returncode == 2 and "--send-commit-ms" in r.stderr, "--send-commit-ms 0 is a usage error")
    ds = [Daemon("sw1", "--send-commit-ms", str(WINDOW_MS)), Daemon("sw2"), Daemon("sw3")]
    try:
        for d in ds:
            d.start()
        tok, uid, ch = alice_bob_charlie(ds, "sendwin")
        a, b, c = ds

        def texts(d, who):
            return texts_from(d, tok[who], ch, uid["alice"])

        def send_async(items):
            return [a.stubs["SendMessage"].future(pb.SendMessageRequest(session_token=tok["alice"], channel_id=ch,
                                                                        content=t), timeout=20) for t in items]

        a.call("SendMessage", session_token=tok["alice"], channel_id=ch, content="before")
        check(wait_until(lambda: texts(c, "charlie") == ["before"], 10), "charlie has alice's first message")

        # Other traffic can bring a commit forward (it is shared with what daemon 1 receives), so
        # the burst is tried until the kill lands in the window (up to 5 times).
        lost, landed = [], False
        for attempt in range(5):
            burst = [f"lost{attempt}-{k}" for k in range(5)]
            calls = send_async(burst)
            lost += burst
            there = all(wait_until(lambda: texts(d, who) == ["before"] + lost, WINDOW_MS / 1000 * 0.8, 0.02)
                        for who, d in (("bob", b), ("charlie", c)))
            on_disk = stored(a, ch, f"lost{attempt}-")
            if there and on_disk == 0 and not any(f.done() for f in calls):
                landed = True
                break
            for f in calls:
                f.exception(timeout=20)
        check(landed, f"bob and charlie have a burst that daemon 1 has not answered or stored yet "
                      f"(attempt {attempt + 1})")
        a.kill()
        failed = sum(1 for f in calls if f.exception(timeout=20) is not None)
        check(failed == len(calls), f"the burst's calls fail with the daemon ({failed} failed)")

        a.start()
        check(SKIP_LOG in a.log()[a.mark:], "daemon 1 says its last stop was not clean and skips ahead")
        check(stored(a, ch, f"lost{attempt}-") == 0, "daemon 1 never stored that burst")
        tok["alice"] = a.call("Unlock", username="alice", password="pw-alice").session_token
        after = [f"after-{k}" for k in range(5)]
        calls = send_async(after)
        answered = all(f.exception(timeout=20) is None for f in calls)
        check(answered, "the sends after the restart are answered")
        for who, d in (("bob", b), ("charlie", c)):
            want = sorted(["before"] + lost + after)
            ok = wait_until(lambda: sorted(texts(d, who)) == want, 15)
            check(ok, f"{who} has every message once, the five and the ones sent after the kill ({texts(d, who)})")
        kept = [t for t in lost if not t.startswith(f"lost{attempt}-")]
        check(sorted(texts(a, "alice")) == sorted(["before"] + kept + after),
              "alice reads what her daemon stored: all but the burst it died with")
        check(not any("FORK" in d.log() for d in ds), "no fork logged")
    finally:
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
