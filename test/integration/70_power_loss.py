"""70_power_loss — a send leaves before its commit is on stable storage (the commit follows within
--send-commit-ms, its fsync on the store's syncer thread); if the machine loses power in between,
the daemon comes back without that commit although its frame was delivered. Simulated on daemon 1 of the chain 1-2-3: its files are copied while it is
frozen (SIGSTOP), Alice sends five messages that Bob and Charlie receive, daemon 1 is SIGKILLed and
its files are put back as they were — a state that does not know those five were sent. Restarted,
it must not reuse their MLS generations or frame numbers (the others would drop the new messages
as repeats): Alice's next messages reach Bob and Charlie, who keep the five as well. Also: a clean
stop (SIGTERM) is recorded, and the start after it skips nothing."""
import os, shutil, signal, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from chat70 import Daemon, alice_bob_charlie, check, safe, summary, texts_from, wait_until  # noqa: E402

SKIP_LOG = "the last stop was not clean"


def main():
    ds = [Daemon("p1"), Daemon("p2"), Daemon("p3")]
    try:
        for d in ds:
            d.start()
        tok, uid, ch = alice_bob_charlie(ds, "loss")
        a, b, c = ds

        def texts(d, who):
            return texts_from(d, tok[who], ch, uid["alice"])

        def send(items):
            for t in items:
                a.call("SendMessage", session_token=tok["alice"], channel_id=ch, content=t)

        send(["before"])
        check(wait_until(lambda: texts(c, "charlie") == ["before"], 10), "charlie has alice's first message")

        # freeze daemon 1, copy its files, thaw: the "disk" as a power loss would leave it
        snap = a.dir + ".snap"
        a.proc.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        shutil.copytree(a.dir, snap)
        a.proc.send_signal(signal.SIGCONT)
        lost = [f"lost-{k}" for k in range(5)]
        send(lost)
        for who, d in (("bob", b), ("charlie", c)):
            check(wait_until(lambda: texts(d, who) == ["before"] + lost, 10), f"{who} has the five messages")

        a.kill()
        shutil.rmtree(a.dir)
        shutil.move(snap, a.dir)
        a.start()
        check(SKIP_LOG in a.log()[a.mark:], "daemon 1 says its last stop was not clean and skips ahead")
        tok["alice"] = a.call("Unlock", username="alice", password="pw-alice").session_token
        after = [f"after-{k}" for k in range(5)]
        send(after)
        for who, d in (("bob", b), ("charlie", c)):
            ok = wait_until(lambda: texts(d, who) == ["before"] + lost + after, 15)
            check(ok, f"{who} has every message once, the five and the ones sent after the loss "
                      f"({texts(d, who)})")
        check(wait_until(lambda: texts(a, "alice")[-5:] == after, 10), "alice reads her new messages")
        # the others still reach alice, and a message from bob goes all the way
        b.call("SendMessage", session_token=tok["bob"], channel_id=ch, content="bob after")
        check(wait_until(lambda: any(m.content == "bob after" for m in safe(lambda: a.call(
            "GetMessages", session_token=tok["alice"], channel_id=ch).messages, [])), 10), "alice reads bob")

        # a clean stop is recorded: the next start skips nothing
        a.stop()
        a.start()
        check(SKIP_LOG not in a.log()[a.mark:], "after SIGTERM, the next start does not skip")
        tok["alice"] = a.call("Unlock", username="alice", password="pw-alice").session_token
        send(["after a clean stop"])
        check(wait_until(lambda: texts(c, "charlie")[-1:] == ["after a clean stop"], 10),
              "charlie reads alice after a clean restart")
        check(not any("FORK" in d.log() for d in ds), "no fork logged")
    finally:
        for d in ds:
            d.stop()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
