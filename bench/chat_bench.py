"""chat_bench — figures for channels across daemons (issue 7), on real spacepandad processes.
Setup (profiles, links, channel, members) is driven by python3-grpcio; the load itself by the C program
build/bench/chat_load (bench/chat_load.c), so client CPU stays small next to the daemons':
  1. SendMessage throughput with three linked daemons (chain 1-2-3), many calls in flight on daemon 1,
     and the time until daemon 3 has delivered every message to a stream opened before the sends:
     once with the three daemons and the client sharing every core, and once with daemon 1 on a core
     of its own (the others on the rest), as when each daemon has its own host;
  2. latency from SendMessage on daemon 1 to arrival on a StreamMessages on daemon 3 at a fixed offered
     rate (1,000 and 100 messages/s): p50 / p99; plus each daemon's CPU per message (from /proc); and
     1,000 messages/s for 20 s (BENCH_SUSTAIN_SECONDS), with p99.9 and the maximum;
  3. a 100-member channel spread over 10 daemons (a chain): time to add everyone by user id, and the
     fan-out latency (chat_load again) to a stream on the farthest daemon.
Prints figures; never fails on speed."""
import os, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration", "lib"))
from chat70 import Daemon, code_of, link_chain, safe, wait_until  # noqa: E402
import chat70  # noqa: E402
import grpc  # noqa: E402

N_THROUGHPUT = int(os.environ.get("BENCH_MESSAGES", "5000"))
INFLIGHT = int(os.environ.get("BENCH_INFLIGHT", "256"))
RATE = 1000
LAT_SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
SUSTAIN_SECONDS = int(os.environ.get("BENCH_SUSTAIN_SECONDS", "20"))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def setup_chain(n, per, tag):
    extra = os.environ.get("DAEMON_ARGS", "").split()
    ds = [Daemon(f"{tag}{i + 1}", *extra).start() for i in range(n)]
    users = []
    for di, d in enumerate(ds):
        for k in range(per):
            r = d.call("CreateProfile", username=f"u{di}_{k}", password="pw")
            users.append({"d": d, "tok": r.session_token, "id": r.user.id})
    firsts = [users[i * per] for i in range(n)]
    link_chain(ds, [u["tok"] for u in firsts])
    return ds, users


def channel_with(owner, members):
    d, tok = owner["d"], owner["tok"]
    sp = d.call("CreateSpace", session_token=tok, name="bench").space
    ch = d.call("CreateChannel", session_token=tok, space_id=sp.id, name="bench").channel.id
    t0 = time.time()
    for u in members:
        if u is owner:
            continue
        wait_until(lambda: code_of(lambda: d.call("AddMemberToChannel", session_token=tok, channel_id=ch,
                                                  user_id=u["id"])) == grpc.StatusCode.OK, 30, 0.1)
    added = time.time() - t0
    for u in members:
        wait_until(lambda: safe(lambda: u["d"].call("GetMessages", session_token=u["tok"], channel_id=ch), None), 30)
    return ch, added, time.time() - t0


def cpu_ms(d):
    """user+system CPU the daemon's process has used so far, in ms (from /proc)."""
    with open(f"/proc/{d.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def pin(pid, cpus):
    """moves every thread of process pid onto the set of CPUs cpus; False if the process itself
    could not be moved (a thread that has just ended is no failure)."""
    moved = False
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
            moved = moved or int(tid) == pid
        except OSError:
            pass
    return moved


def load(ds, a, c, ch, tag, cpus=None, **opt):
    """runs build/bench/chat_load: sends on daemon 1, a stream on daemon 3; returns its RESULT fields and
    each daemon's CPU ms for the run. cpus: the CPUs the client runs on (default: any)."""
    args = [os.path.join(chat70.B, "bench", "chat_load"), "--send", ds[0].addr, "--token", a["tok"],
            "--channel", ch, "--recv", ds[-1].addr, "--recv-token", c["tok"], "--tag", tag]
    for k, v in opt.items():
        args += [f"--{k}", str(v)]
    before = [cpu_ms(d) for d in ds]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300,
                         preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    cpu = [cpu_ms(d) - b for d, b in zip(ds, before)]
    sys.stderr.write(out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            res = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
    return res, cpu


def cpu_line(cpu, n):
    return ", ".join(f"daemon {i + 1} {c:.0f} ms ({c / max(n, 1):.3f} ms/msg)" for i, c in enumerate(cpu))


def bench_three():
    ds, users = setup_chain(3, 1, "t")
    try:
        ch, _, _ = channel_with(users[0], users)
        a, c = users[0], users[2]
        # warm-up (first messages pay for connections and sqlite pages)
        load(ds, a, c, ch, "w", rate=0, count=200, inflight=32)
        # 1. throughput: as fast as the daemons take it, many calls in flight over a few connections
        r, cpu = load(ds, a, c, ch, "t", rate=0, count=N_THROUGHPUT, inflight=INFLIGHT, conns=4)
        print(f"SendMessage, 3 daemons (chain 1-2-3), C client, {INFLIGHT} calls in flight on daemon 1: "
              f"{r['accepted']:.0f}/{r['sent']:.0f} accepted in {r['accept_s']:.2f}s = "
              f"{r['accepted'] / max(r['accept_s'], 1e-9):.0f} msg/s; {r['delivered']:.0f} on daemon 3's stream after "
              f"{r['deliver_s']:.2f}s = {r['delivered'] / max(r['deliver_s'], 1e-9):.0f} msg/s end to end "
              f"(SendMessage answer p50 {r['ack_p50']:.1f} ms)")
        print(f"  CPU: {cpu_line(cpu, r['accepted'])}")
        # 1b. the same with daemon 1 on a core of its own: what one daemon accepts when the others
        # do not take its CPU (on a machine this small they must share the remaining cores)
        every = os.sched_getaffinity(0)
        own, rest = {min(every)}, every - {min(every)}
        pinned = len(every) >= 2 and pin(ds[0].proc.pid, own)
        for d in ds[1:]:
            pinned = pinned and pin(d.proc.pid, rest)
        try:
            if pinned:
                r, cpu = load(ds, a, c, ch, "p", cpus=rest, rate=0, count=N_THROUGHPUT, inflight=INFLIGHT, conns=4)
        finally:
            for d in ds:
                pin(d.proc.pid, every)
        if not pinned:
            print("SendMessage with daemon 1 on a core of its own: not measured (one CPU, or affinity refused)")
        else:
            print(f"SendMessage, the same with daemon 1 on a core of its own (daemons 2, 3 and the client on "
                  f"{len(rest)} other{'s' if len(rest) > 1 else ''}): {r['accepted']:.0f}/{r['sent']:.0f} accepted in "
                  f"{r['accept_s']:.2f}s = {r['accepted'] / max(r['accept_s'], 1e-9):.0f} msg/s; {r['delivered']:.0f} on "
                  f"daemon 3's stream after {r['deliver_s']:.2f}s = {r['delivered'] / max(r['deliver_s'], 1e-9):.0f} msg/s "
                  f"end to end (SendMessage answer p50 {r['ack_p50']:.1f} ms)")
            print(f"  CPU: {cpu_line(cpu, r['accepted'])}")
        # 2. latency at fixed offered rates
        for rate, secs in ((RATE, LAT_SECONDS), (100, 3)):
            r, cpu = load(ds, a, c, ch, f"l{rate}", rate=rate, count=rate * secs, inflight=1000, conns=2)
            print(f"latency SendMessage on daemon 1 -> StreamMessages on daemon 3 at {rate} msg/s offered "
                  f"({r['delivered']:.0f}/{r['sent']:.0f} delivered): p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, "
                  f"max {r['max']:.2f} ms; SendMessage answer p50 {r['ack_p50']:.2f} ms p99 {r['ack_p99']:.2f} ms")
            print(f"  CPU: {cpu_line(cpu, r['accepted'])}")
        # 3. the same rate for longer: what a few seconds do not show (checkpoints, page cache)
        r, cpu = load(ds, a, c, ch, "s", rate=RATE, count=RATE * SUSTAIN_SECONDS, inflight=1000, conns=2)
        print(f"latency at {RATE} msg/s sustained for {SUSTAIN_SECONDS}s ({r['delivered']:.0f}/{r['sent']:.0f} "
              f"delivered): p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, p99.9 {r['p999']:.2f} ms, "
              f"max {r['max']:.2f} ms")
        print(f"  CPU: {cpu_line(cpu, r['accepted'])}")
    finally:
        for d in ds:
            d.stop()


def bench_hundred():
    ds, users = setup_chain(10, 10, "h")
    try:
        ch, added, joined = channel_with(users[0], users)
        print(f"100-member channel over 10 daemons (chain): 99 AddMemberToChannel by user id in {added:.2f}s "
              f"({added / 99 * 1000:.0f} ms per commit); every member's daemon joined after {joined:.2f}s")
        far = users[-1]
        for rate in (100, 1000):
            r, cpu = load(ds, users[0], far, ch, f"f{rate}", rate=rate, count=rate * 2, inflight=1000, conns=2)
            print(f"fan-out latency in the 100-member channel, SendMessage on daemon 1 -> stream on daemon 10 "
                  f"(9 hops, every daemon a member) at {rate} msg/s offered ({r['delivered']:.0f}/{r['sent']:.0f}): "
                  f"p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms")
            acc = max(r["accepted"], 1)
            print("  CPU per message: " + ", ".join(f"{c / acc:.2f}" for c in cpu) + " ms (daemons 1..10)")
    finally:
        for d in ds:
            d.stop()


if __name__ == "__main__":
    only = os.environ.get("BENCH_ONLY", "")  # "three" or "hundred": one part alone
    if only in ("", "three"):
        bench_three()
    if only in ("", "hundred"):
        bench_hundred()
    import shutil
    shutil.rmtree(chat70.TMP, ignore_errors=True)
