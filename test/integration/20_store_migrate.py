"""20_store_migrate.py — the daemon on databases it did not make itself:
 - one built by schema version 1 (the frozen SQL in test/unit/test_store_migrate.c) opens, is
   migrated, and its profiles, spaces and channels work through gRPC;
 - one with a newer schema, or a corrupt file, makes the daemon refuse to start with a clear
   error, and the file is left exactly as it was."""
import os, re, sys, tempfile, shutil, sqlite3, subprocess, hashlib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spd
from spd import pb, AUTH, SPACE, status_of

C = spd.Checks()
tmp = tempfile.mkdtemp(prefix="sp-20-migrate-")


def v1_schema():
    src = open(os.path.join(spd.ROOT, "test/unit/test_store_migrate.c")).read()
    body = src[src.index("SCHEMA_V1[] ="):]
    body = body[:body.index(";\n")]
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return "".join(parts)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def refuses(data_dir, what):
    r = subprocess.run([spd.DAEMON, "--grpc-port", "0", "--data-dir", data_dir], capture_output=True, timeout=20)
    err = r.stderr.decode(errors="replace")
    C.check(r.returncode != 0, "%s: daemon refuses to start (rc %d)" % (what, r.returncode))
    C.check("refus" in err, "%s: says why: %s" % (what, err.strip().splitlines()[-1] if err.strip() else ""))
    return err


try:
    # A real password hash for the v1 database: made by the daemon in a scratch directory.
    scratch = os.path.join(tmp, "scratch")
    d = spd.Daemon(scratch).start()
    d.call(AUTH + "CreateProfile", pb.CreateProfileRequest(username="veteran", password="old-pw"), pb.CreateProfileResponse)
    d.stop()
    src = sqlite3.connect(os.path.join(scratch, "spacepanda.db"))
    prof = src.execute("SELECT user_id, username, pw_hash, pw_salt, kdf_m_kib, kdf_t, kdf_p, created_at FROM profiles").fetchone()
    src.close()
    uid = prof[0]

    data = os.path.join(tmp, "v1")
    os.makedirs(data)
    dbp = os.path.join(data, "spacepanda.db")
    db = sqlite3.connect(dbp)
    db.executescript(v1_schema())
    sid, cid = "ab" * 32, "cd" * 32
    db.execute("INSERT INTO profiles VALUES (?,?,?,?,?,?,?,?)", prof)
    db.execute("INSERT INTO spaces VALUES (?,?,?,?,?,?,?)", (sid, "Old space", "from v1", "", 1, uid, 1000))
    db.execute("INSERT INTO space_members VALUES (?,?,?)", (sid, uid, 1000))
    db.execute("INSERT INTO channels VALUES (?,?,?,?,?,?,?)", (cid, sid, "old-general", "", 2, None, 2000))
    db.execute("INSERT INTO channel_members VALUES (?,?,?)", (cid, uid, 2000))
    db.commit()
    db.execute("PRAGMA application_id=1397771844")
    db.execute("PRAGMA user_version=1")
    db.close()

    d = spd.Daemon(data).start()
    log = open(d.log_path, errors="replace").read()
    C.check("migrated schema 1 -> 2" in log, "the daemon says it migrated")
    tok = d.call(AUTH + "Unlock", pb.UnlockRequest(username="veteran", password="old-pw"), pb.UnlockResponse).session_token
    spaces = d.call(SPACE + "ListSpaces", pb.ListSpacesRequest(session_token=tok), pb.ListSpacesResponse).spaces
    C.check(len(spaces) == 1 and spaces[0].id == sid and spaces[0].name == "Old space" and spaces[0].created_at == 1000,
            "the v1 space is listed")
    C.check(len(spaces) == 1 and list(spaces[0].channel_ids) == [cid], "with its channel")
    chans = d.call(SPACE + "ListChannels", pb.ListChannelsRequest(session_token=tok, space_id=sid), pb.ListChannelsResponse).channels
    C.check(len(chans) == 1 and chans[0].name == "old-general" and list(chans[0].member_ids) == [uid], "ListChannels on v1 data")
    r = d.call(SPACE + "CreateChannel", pb.CreateChannelRequest(session_token=tok, space_id=sid, name="new"), pb.CreateChannelResponse)
    C.check(r.channel.space_id == sid, "new channels in the migrated space")
    C.check(d.stop() == 0, "clean exit")
    db = sqlite3.connect(dbp)
    C.check(db.execute("PRAGMA user_version").fetchone()[0] == 2, "user_version is now 2")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    C.check({"mls_state", "key_packages", "peers", "frames", "origin_progress", "outbox"} <= tables, "v2 tables exist")
    C.check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity ok")
    db.close()

    # ---- a newer schema: refused, untouched --------------------------------------------------------
    newer = os.path.join(tmp, "newer")
    os.makedirs(newer)
    shutil.copy(dbp, os.path.join(newer, "spacepanda.db"))
    db = sqlite3.connect(os.path.join(newer, "spacepanda.db"))
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA user_version=3")
    db.close()
    before = sha(os.path.join(newer, "spacepanda.db"))
    err = refuses(newer, "schema 3")
    C.check("newer" in err, "the message says the file is newer")
    C.check(sha(os.path.join(newer, "spacepanda.db")) == before, "the newer file is unchanged")

    # ---- a corrupt file: refused, untouched ---------------------------------------------------------
    bad = os.path.join(tmp, "corrupt")
    os.makedirs(bad)
    with open(os.path.join(bad, "spacepanda.db"), "wb") as f:
        f.write(b"SQLite format 3\x00" + os.urandom(4080))
    before = sha(os.path.join(bad, "spacepanda.db"))
    refuses(bad, "corrupt file")
    C.check(sha(os.path.join(bad, "spacepanda.db")) == before, "the corrupt file is unchanged")
    C.check(sorted(os.listdir(bad)) == ["spacepanda.db"], "no journal or WAL file created beside it")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
C.done()
