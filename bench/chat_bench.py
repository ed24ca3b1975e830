"""chat_bench — figures for channels across daemons (issue 7), on real spacepandad processes driven by
python3-grpcio (the client's own cost is included in every figure):
  1. SendMessage throughput with three linked daemons (chain 1-2-3), concurrent senders on daemon 1,
     and the time until daemon 3 has delivered every message to a stream;
  2. latency from SendMessage on daemon 1 to arrival on a StreamMessages on daemon 3, paced at
     1,000 messages/s: p50 / p99;
  3. a 100-member channel spread over 10 daemons (a chain): time to add everyone by user id, and the
     fan-out latency to a stream on the farthest daemon.
Prints figures; never fails on speed."""
import os, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "integration", "lib"))
from chat70 import Daemon, code_of, link_chain, safe, wait_until  # noqa: E402
import chat70  # noqa: E402
import grpc  # noqa: E402

N_THROUGHPUT = int(os.environ.get("BENCH_MESSAGES", "3000"))
RATE = 1000
LAT_SECONDS = 2


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def setup_chain(n, per, tag):
    ds = [Daemon(f"{tag}{i + 1}").start() for i in range(n)]
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


def bench_three():
    ds, users = setup_chain(3, 1, "t")
    try:
        ch, _, _ = channel_with(users[0], users)
        a, c = users[0], users[2]
        s3 = ds[2].stream(c["tok"], ch)
        time.sleep(0.5)
        # 1. throughput
        threads, per = 8, N_THROUGHPUT // 8
        stubs = [Daemon.__new__(Daemon) for _ in range(threads)]
        chans = [grpc.insecure_channel(ds[0].addr) for _ in range(threads)]
        sends = [ch_.unary_unary("/spacepanda.MessageService/SendMessage",
                                 request_serializer=chat70.pb.SendMessageRequest.SerializeToString,
                                 response_deserializer=chat70.pb.Message.FromString) for ch_ in chans]
        del stubs

        def worker(i):
            for j in range(per):
                sends[i](chat70.pb.SendMessageRequest(session_token=a["tok"], channel_id=ch, content=f"t{i}-{j}"),
                         timeout=30)
        t0 = time.time()
        th = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        t_acc = time.time() - t0
        total = per * threads
        wait_until(lambda: len(s3.messages()) >= total, 120, 0.01)
        t_all = time.time() - t0
        got = len(s3.messages())
        print(f"SendMessage, 3 daemons (chain), {threads} concurrent clients on daemon 1: {total} messages accepted "
              f"in {t_acc:.2f}s = {total / t_acc:.0f} msg/s; all {got} on daemon 3's stream after {t_all:.2f}s "
              f"= {got / t_all:.0f} msg/s delivered end to end")
        for c_ in chans:
            c_.close()
        # 2. latency, paced, with calls in flight (as a client at that rate would)
        for rate, secs in ((RATE, LAT_SECONDS), (100, 3)):
            base = len(s3.messages())
            n = rate * secs
            sent_at = {}
            send = ds[0].stubs["SendMessage"]
            futs = []
            t0 = time.time()
            for j in range(n):
                target = t0 + j / rate
                now = time.time()
                if target > now:
                    time.sleep(target - now)
                content = f"lat{rate}-{j}"
                sent_at[content] = time.time()
                futs.append(send.future(chat70.pb.SendMessageRequest(session_token=a["tok"], channel_id=ch,
                                                                     content=content), timeout=30))
            for f in futs:
                f.result()
            wait_until(lambda: len(s3.messages()) >= base + n, 60, 0.01)
            lat = []
            for m, t in zip(s3.messages()[base:], s3_times(s3, base)):
                if m.content in sent_at:
                    lat.append((t - sent_at[m.content]) * 1000)
            print(f"latency SendMessage on daemon 1 -> StreamMessages on daemon 3 at {rate} msg/s "
                  f"({len(lat)} messages): p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms")
        s3.cancel()
    finally:
        for d in ds:
            d.stop()


def s3_times(s, base):
    return s.times[base:]


def bench_hundred():
    ds, users = setup_chain(10, 10, "h")
    try:
        ch, added, joined = channel_with(users[0], users)
        print(f"100-member channel over 10 daemons (chain): 99 AddMemberToChannel by user id in {added:.2f}s "
              f"({added / 99 * 1000:.0f} ms per commit); every member's daemon joined after {joined:.2f}s")
        far = users[-1]
        s = ds[-1].stream(far["tok"], ch)
        time.sleep(0.5)
        sent_at = {}
        n = 200
        for j in range(n):
            time.sleep(0.005)
            sent_at[f"f-{j}"] = time.time()
            ds[0].call("SendMessage", session_token=users[0]["tok"], channel_id=ch, content=f"f-{j}")
        wait_until(lambda: len(s.messages()) >= n, 60, 0.01)
        s.cancel()
        lat = [(t - sent_at[m.content]) * 1000 for m, t in zip(s.messages(), s.times) if m.content in sent_at]
        print(f"fan-out latency in the 100-member channel, daemon 1 -> stream on daemon 10 (9 hops), "
              f"{len(lat)} messages at ~150/s: p50 {pct(lat, 50):.2f} ms, p99 {pct(lat, 99):.2f} ms")
    finally:
        for d in ds:
            d.stop()


# arrival times for streams
_orig_run = chat70.Stream._run


def _run_timed(self):
    self.times = []
    try:
        for m in self.call:
            with self.lock:
                self.got.append(m)
                self.times.append(time.time())
    except grpc.RpcError as e:
        self.error = e.code()


chat70.Stream._run = _run_timed

if __name__ == "__main__":
    bench_three()
    bench_hundred()
    import shutil
    shutil.rmtree(chat70.TMP, ignore_errors=True)
