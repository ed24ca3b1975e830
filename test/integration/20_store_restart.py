"""20_store_restart.py — state survives a restart: SIGTERM, start again on the same data
directory; profiles, spaces and channels are all there, Unlock works, and the old session token
is UNAUTHENTICATED (sessions live in memory)."""
import os, sys, tempfile, shutil, sqlite3
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import spd
from spd import pb, AUTH, SPACE, status_of
import grpc

C = spd.Checks()
S = grpc.StatusCode
tmp = tempfile.mkdtemp(prefix="sp-20-restart-")
data = os.path.join(tmp, "d")
d = spd.Daemon(data).start()
try:
    r = d.call(AUTH + "CreateProfile", pb.CreateProfileRequest(username="alice", password="a-pw"), pb.CreateProfileResponse)
    old_tok, alice = r.session_token, r.user.id
    r = d.call(AUTH + "CreateProfile", pb.CreateProfileRequest(username="bob", password="b-pw"), pb.CreateProfileResponse)
    bob = r.user.id
    spaces = []
    for i in range(3):
        r = d.call(SPACE + "CreateSpace", pb.CreateSpaceRequest(session_token=old_tok, name="space %d" % i,
                                                                 description="d%d" % i, visibility=1 + i % 2),
                   pb.CreateSpaceResponse)
        spaces.append(r.space)
    chans = []
    for i in range(2):
        r = d.call(SPACE + "CreateChannel", pb.CreateChannelRequest(session_token=old_tok, space_id=spaces[0].id,
                                                                     name="chan %d" % i), pb.CreateChannelResponse)
        chans.append(r.channel)
    C.check(d.stop() == 0, "SIGTERM: clean exit")

    d = spd.Daemon(data).start()
    code, _ = status_of(lambda: d.call(SPACE + "ListSpaces", pb.ListSpacesRequest(session_token=old_tok), pb.ListSpacesResponse))
    C.check(code == S.UNAUTHENTICATED, "token from before the restart → UNAUTHENTICATED")
    code, _ = status_of(lambda: d.call(AUTH + "Unlock", pb.UnlockRequest(username="alice", password="bad"), pb.UnlockResponse))
    C.check(code == S.UNAUTHENTICATED, "wrong password still refused")
    r = d.call(AUTH + "Unlock", pb.UnlockRequest(username="alice", password="a-pw"), pb.UnlockResponse)
    C.check(r.user.id == alice, "Unlock works after restart, same user id")
    tok = r.session_token
    r = d.call(AUTH + "Unlock", pb.UnlockRequest(username="bob", password="b-pw"), pb.UnlockResponse)
    C.check(r.user.id == bob, "bob too")
    code, _ = status_of(lambda: d.call(AUTH + "CreateProfile", pb.CreateProfileRequest(username="alice", password="x"),
                                       pb.CreateProfileResponse))
    C.check(code == S.ALREADY_EXISTS, "alice's name still taken")
    r = d.call(SPACE + "ListSpaces", pb.ListSpacesRequest(session_token=tok), pb.ListSpacesResponse)
    C.check([s.id for s in r.spaces] == [s.id for s in spaces], "all spaces back, in order")
    for before, after in zip(spaces, r.spaces):
        C.check(before.name == after.name and before.description == after.description and
                before.visibility == after.visibility and before.created_at == after.created_at and
                before.owner_id == after.owner_id, "space %s unchanged" % before.name)
    r = d.call(SPACE + "ListChannels", pb.ListChannelsRequest(session_token=tok, space_id=spaces[0].id), pb.ListChannelsResponse)
    C.check([c.id for c in r.channels] == [c.id for c in chans], "channels back")
    C.check(all(list(c.member_ids) == [alice] for c in r.channels), "channel members back")
    g = d.call(SPACE + "GetSpace", pb.GetSpaceRequest(session_token=tok, space_id=spaces[0].id), pb.Space)
    C.check(list(g.channel_ids) == [c.id for c in chans] and list(g.member_ids) == [alice], "GetSpace after restart")
    C.check(d.stop() == 0, "second clean exit")
    db = sqlite3.connect(os.path.join(data, "spacepanda.db"))
    C.check(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity_check ok")
    C.check(db.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "the database is in WAL mode")
    db.close()
    mode = os.stat(os.path.join(data, "spacepanda.db")).st_mode & 0o777
    C.check(mode == 0o600, "database file is private (mode %o)" % mode)
finally:
    d.stop()
    shutil.rmtree(tmp, ignore_errors=True)
C.done()
