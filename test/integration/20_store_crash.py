"""20_store_crash.py — SIGKILL in the middle of a stream of CreateSpace calls: after a restart,
every call that had returned OK is present, and PRAGMA integrity_check says ok."""
import os, sys, tempfile, shutil, sqlite3, signal, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spd
from spd import pb, AUTH, SPACE, status_of
import grpc

C = spd.Checks()
tmp = tempfile.mkdtemp(prefix="sp-20-crash-")
data = os.path.join(tmp, "d")
d = spd.Daemon(data).start()
try:
    tok = d.call(AUTH + "CreateProfile", pb.CreateProfileRequest(username="crash", password="pw"),
                 pb.CreateProfileResponse).session_token
    acked = []          # ids whose CreateSpace returned OK
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k):
        i = 0
        while not stop.is_set():
            try:
                r = d.call(SPACE + "CreateSpace", pb.CreateSpaceRequest(session_token=tok, name="w%d-%d" % (k, i)),
                           pb.CreateSpaceResponse, timeout=5)
                with lock:
                    acked.append(r.space.id)
            except grpc.RpcError:
                return
            i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while True:
        with lock:
            if len(acked) >= 150:
                break
        time.sleep(0.01)
    d.proc.send_signal(signal.SIGKILL)   # mid-stream: writers have calls in flight
    d.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    d.proc = None
    d.stop()
    print("acknowledged before the kill:", len(acked))

    db = sqlite3.connect(os.path.join(data, "spacepanda.db"))
    C.check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok after SIGKILL")
    db.close()

    d = spd.Daemon(data).start()
    tok = d.call(AUTH + "Unlock", pb.UnlockRequest(username="crash", password="pw"), pb.UnlockResponse).session_token
    have = {s.id for s in d.call(SPACE + "ListSpaces", pb.ListSpacesRequest(session_token=tok), pb.ListSpacesResponse).spaces}
    missing = [i for i in acked if i not in have]
    C.check(len(acked) >= 150, "a real stream was running (%d acked)" % len(acked))
    C.check(not missing, "every acknowledged space is present after restart (%d missing)" % len(missing))
    C.check(len(have) >= len(acked), "nothing lost (%d stored, %d acked)" % (len(have), len(acked)))
    # the daemon still works normally on the recovered file
    code, _ = status_of(lambda: d.call(SPACE + "CreateSpace", pb.CreateSpaceRequest(session_token=tok, name="after"),
                                       pb.CreateSpaceResponse))
    C.check(code == grpc.StatusCode.OK, "writes work after recovery")
    C.check(d.stop() == 0, "clean exit")
    db = sqlite3.connect(os.path.join(data, "spacepanda.db"))
    C.check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok at the end")
    db.close()
finally:
    d.stop()
    shutil.rmtree(tmp, ignore_errors=True)
C.done()
