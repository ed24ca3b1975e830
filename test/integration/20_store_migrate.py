"""20_store_migrate.py — the daemon on databases it did not make itself:
 - one built by schema version 1 and one built by version 2 (the frozen SQL in
   test/unit/test_store_migrate.c) open, are migrated to the current version, and their profiles,
   spaces and channels work through gRPC; the tables v3 dropped (peers, frames, origin_progress:
   the P2P layer keeps those in net.db) are gone and the outbox keeps its rows;
 - one with a newer schema, or a corrupt file, makes the daemon refuse to start with a clear
   error, and the file is left exactly as it was."""
import os, re, sys, tempfile, shutil, sqlite3, subprocess, hashlib
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spd
from spd import pb, AUTH, SPACE, status_of

C = spd.Checks()
tmp = tempfile.mkdtemp(prefix="sp-20-migrate-")


def frozen_sql(name):
    src = open(os.path.join(spd.ROOT, "test/unit/test_store_migrate.c")).read()
    body = src[src.index(name + "[] ="):]
    body = body[:body.index(";\n")]
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return "".join(parts)


def current_version():
    hdr = open(os.path.join(spd.ROOT, "src/store/db.h")).read()
    return int(re.search(r"#define STORE_SCHEMA_VERSION (\d+)", hdr).group(1))


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

    CUR = current_version()
    DROPPED = {"peers", "frames", "origin_progress"}

    def migrated_case(version):
        """Builds a database as a version-`version` build left it, with data; the daemon must
        migrate it and serve it."""
        data = os.path.join(tmp, "v%d" % version)
        os.makedirs(data)
        dbp = os.path.join(data, "spacepanda.db")
        db = sqlite3.connect(dbp)
        db.executescript(frozen_sql("SCHEMA_V1"))
        if version >= 2:
            db.executescript(frozen_sql("SCHEMA_V2_STEP"))
        sid, cid = ("ab" if version == 1 else "a2") * 32, ("cd" if version == 1 else "c2") * 32
        db.execute("INSERT INTO profiles VALUES (?,?,?,?,?,?,?,?)", prof)
        db.execute("INSERT INTO spaces VALUES (?,?,?,?,?,?,?)", (sid, "Old space", "from v%d" % version, "", 1, uid, 1000))
        db.execute("INSERT INTO space_members VALUES (?,?,?)", (sid, uid, 1000))
        db.execute("INSERT INTO channels VALUES (?,?,?,?,?,?,?)", (cid, sid, "old-general", "", 2, None, 2000))
        db.execute("INSERT INTO channel_members VALUES (?,?,?)", (cid, uid, 2000))
        if version >= 2:
            db.execute("INSERT INTO outbox(dest_peer, origin_peer, origin_seq, type, payload, created_at)"
                       " VALUES ('home', 'self', 5, 3, x'c0ffee', 3000)")
            db.execute("INSERT INTO peers(addr, peer_id, added_at) VALUES ('/ip4/127.0.0.1/tcp/9', 'P9', 3000)")
            db.execute("INSERT INTO frames VALUES ('P9', 1, 1, x'aa', 3000)")
            db.execute("INSERT INTO origin_progress VALUES ('P9', 1)")
        db.commit()
        db.execute("PRAGMA application_id=1397771844")
        db.execute("PRAGMA user_version=%d" % version)
        db.close()

        what = "v%d" % version
        d = spd.Daemon(data).start()
        log = open(d.log_path, errors="replace").read()
        C.check("migrated schema %d -> %d" % (version, CUR) in log, "%s: the daemon says it migrated" % what)
        tok = d.call(AUTH + "Unlock", pb.UnlockRequest(username="veteran", password="old-pw"), pb.UnlockResponse).session_token
        spaces = d.call(SPACE + "ListSpaces", pb.ListSpacesRequest(session_token=tok), pb.ListSpacesResponse).spaces
        C.check(len(spaces) == 1 and spaces[0].id == sid and spaces[0].name == "Old space" and spaces[0].created_at == 1000,
                "%s: the old space is listed" % what)
        C.check(len(spaces) == 1 and list(spaces[0].channel_ids) == [cid], "%s: with its channel" % what)
        chans = d.call(SPACE + "ListChannels", pb.ListChannelsRequest(session_token=tok, space_id=sid), pb.ListChannelsResponse).channels
        C.check(len(chans) == 1 and chans[0].name == "old-general" and list(chans[0].member_ids) == [uid],
                "%s: ListChannels on old data" % what)
        r = d.call(SPACE + "CreateChannel", pb.CreateChannelRequest(session_token=tok, space_id=sid, name="new"), pb.CreateChannelResponse)
        C.check(r.channel.space_id == sid, "%s: new channels in the migrated space" % what)
        C.check(d.stop() == 0, "%s: clean exit" % what)
        db = sqlite3.connect(dbp)
        C.check(db.execute("PRAGMA user_version").fetchone()[0] == CUR, "%s: user_version is now %d" % (what, CUR))
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        C.check({"mls_state", "key_packages", "outbox"} <= tables, "%s: the current tables exist" % what)
        C.check(not (DROPPED & tables), "%s: peers, frames, origin_progress are gone (they live in net.db)" % what)
        if version >= 2:
            rows = db.execute("SELECT dest_peer, origin_peer, origin_seq, type, payload FROM outbox").fetchall()
            C.check(rows == [("home", "self", 5, 3, b"\xc0\xff\xee")], "%s: the outbox entry survived: %r" % (what, rows))
        C.check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "%s: integrity ok" % what)
        db.close()
        return dbp

    dbp = migrated_case(1)
    migrated_case(2)

    # ---- a newer schema: refused, untouched --------------------------------------------------------
    newer = os.path.join(tmp, "newer")
    os.makedirs(newer)
    shutil.copy(dbp, os.path.join(newer, "spacepanda.db"))
    db = sqlite3.connect(os.path.join(newer, "spacepanda.db"))
    db.execute("PRAGMA journal_mode=DELETE")
    db.execute("PRAGMA user_version=%d" % (CUR + 1))
    db.close()
    before = sha(os.path.join(newer, "spacepanda.db"))
    err = refuses(newer, "schema %d" % (CUR + 1))
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
