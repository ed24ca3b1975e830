/*
 * test_store_migrate.c — databases built by older schema versions (their SQL frozen here, as
 * shipped) open with the current build, are migrated, and keep their data: one made by v1, and
 * one made by v2 (which still had the address book and frame log that v3 drops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "check.h"
#include "tmpdir.h"
#include "store/db.h"
#include "store/messages.h"
#include "store/mls_state.h"
#include "store/outbox.h"
#include "store/profiles.h"
#include "store/spaces.h"

CHECK_MAIN_DEFS

/* Frozen copy of schema v1: do not edit, it is what old databases were made with. */
static const char SCHEMA_V1[] =
    "CREATE TABLE profiles ("
    "  user_id    TEXT PRIMARY KEY,"              /* UUID v4 */
    "  username   TEXT NOT NULL UNIQUE,"
    "  pw_hash    BLOB NOT NULL,"                 /* argon2id output */
    "  pw_salt    BLOB NOT NULL,"
    "  kdf_m_kib  INTEGER NOT NULL,"              /* argon2 parameters used for this hash */
    "  kdf_t      INTEGER NOT NULL,"
    "  kdf_p      INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE spaces ("
    "  space_id    TEXT PRIMARY KEY,"             /* 64 lowercase hex */
    "  name        TEXT NOT NULL,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  icon_url    TEXT NOT NULL DEFAULT '',"
    "  visibility  INTEGER NOT NULL,"
    "  owner_id    TEXT NOT NULL,"
    "  created_at  INTEGER NOT NULL"
    ");"
    "CREATE TABLE space_members ("
    "  space_id  TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,"
    "  user_id   TEXT NOT NULL,"                  /* local or remote user: no FK to profiles */
    "  joined_at INTEGER NOT NULL,"
    "  PRIMARY KEY (space_id, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX space_members_by_user ON space_members(user_id, space_id);"
    "CREATE TABLE channels ("
    "  channel_id   TEXT PRIMARY KEY,"            /* = MLS group id, 64 lowercase hex */
    "  space_id     TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,"
    "  name         TEXT NOT NULL,"
    "  description  TEXT NOT NULL DEFAULT '',"
    "  visibility   INTEGER NOT NULL,"
    "  home_peer_id TEXT,"                        /* daemon that orders the group's commits */
    "  created_at   INTEGER NOT NULL"
    ");"
    "CREATE INDEX channels_by_space ON channels(space_id, created_at);"
    "CREATE TABLE channel_members ("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  user_id    TEXT NOT NULL,"
    "  added_at   INTEGER NOT NULL,"
    "  PRIMARY KEY (channel_id, user_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX channel_members_by_user ON channel_members(user_id, channel_id);"
    "CREATE TABLE messages ("
    "  rowid_      INTEGER PRIMARY KEY,"
    "  message_id  TEXT NOT NULL UNIQUE,"         /* UUID v4, dedup key */
    "  channel_id  TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  chan_seq    INTEGER NOT NULL,"             /* this daemon's order within the channel */
    "  sender_id   TEXT NOT NULL,"
    "  content     TEXT NOT NULL,"
    "  timestamp   INTEGER NOT NULL,"             /* ms, as the sender stamped it */
    "  origin_peer TEXT,"                         /* daemon that originated it */
    "  origin_seq  INTEGER,"                      /* that daemon's frame sequence */
    "  UNIQUE (channel_id, chan_seq)"
    ");";

/* Frozen copy of the v1 -> v2 step: do not edit either. */
static const char SCHEMA_V2_STEP[] =
    "CREATE INDEX messages_by_origin ON messages(origin_peer, origin_seq);"
    "CREATE TABLE meta ("
    "  key   TEXT PRIMARY KEY,"
    "  value BLOB"
    ");"
    "CREATE TABLE user_keys ("                    /* a local user's long-term MLS signature key */
    "  user_id    TEXT PRIMARY KEY REFERENCES profiles(user_id) ON DELETE CASCADE,"
    "  public_key BLOB NOT NULL,"
    "  secret_key BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE mls_state ("
    "  channel_id TEXT NOT NULL REFERENCES channels(channel_id) ON DELETE CASCADE,"
    "  user_id    TEXT NOT NULL,"                 /* the local member holding this leaf */
    "  epoch      INTEGER NOT NULL,"
    "  state      BLOB NOT NULL,"                 /* opaque to store/ */
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (channel_id, user_id)"
    ");"
    "CREATE TABLE key_packages ("                 /* our unused key packages and their secrets */
    "  kp_ref      BLOB PRIMARY KEY,"             /* RFC 9420 KeyPackageRef */
    "  user_id     TEXT NOT NULL REFERENCES profiles(user_id) ON DELETE CASCADE,"
    "  key_package BLOB NOT NULL,"                /* exact bytes as published */
    "  secrets     BLOB NOT NULL,"                /* opaque private keys */
    "  created_at  INTEGER NOT NULL"
    ");"
    "CREATE INDEX key_packages_by_user ON key_packages(user_id, created_at);"
    "CREATE TABLE kp_directory ("                 /* key packages other daemons published */
    "  kp_ref      BLOB PRIMARY KEY,"
    "  user_id     TEXT NOT NULL,"
    "  peer_id     TEXT NOT NULL,"
    "  key_package BLOB NOT NULL,"
    "  received_at INTEGER NOT NULL"
    ");"
    "CREATE INDEX kp_directory_by_user ON kp_directory(user_id, received_at);"
    "CREATE TABLE known_users ("                  /* which daemon hosts which user */
    "  user_id    TEXT PRIMARY KEY,"
    "  peer_id    TEXT NOT NULL,"
    "  username   TEXT NOT NULL DEFAULT '',"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE peers ("                        /* the address book */
    "  addr      TEXT PRIMARY KEY,"               /* multiaddr as given */
    "  peer_id   TEXT,"                           /* NULL until a handshake proved it */
    "  last_seen INTEGER NOT NULL DEFAULT 0,"
    "  failures  INTEGER NOT NULL DEFAULT 0,"
    "  added_at  INTEGER NOT NULL"
    ");"
    "CREATE INDEX peers_by_id ON peers(peer_id);"
    "CREATE TABLE frames ("                       /* every frame seen, for dedup and relay */
    "  origin_peer TEXT NOT NULL,"
    "  origin_seq  INTEGER NOT NULL,"
    "  type        INTEGER NOT NULL,"
    "  payload     BLOB NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  PRIMARY KEY (origin_peer, origin_seq)"
    ");"
    "CREATE TABLE origin_progress ("               /* highest contiguous sequence per origin */
    "  origin_peer TEXT PRIMARY KEY,"
    "  contiguous  INTEGER NOT NULL"
    ");"
    "CREATE TABLE outbox ("                       /* frames still to hand to a given peer */
    "  id          INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  dest_peer   TEXT,"                         /* NULL: every peer */
    "  origin_peer TEXT NOT NULL,"
    "  origin_seq  INTEGER NOT NULL,"
    "  type        INTEGER NOT NULL,"
    "  payload     BLOB NOT NULL,"
    "  created_at  INTEGER NOT NULL"
    ");"
    "CREATE INDEX outbox_by_dest ON outbox(dest_peer, id);";


#define SPACE "1111111111111111111111111111111111111111111111111111111111111111"
#define CHAN "2222222222222222222222222222222222222222222222222222222222222222"
#define UID "6a0f6c2e-8c1e-4d55-9b0e-3f8a9f0d2b11"

static const char V1_DATA[] =
    "INSERT INTO profiles VALUES('" UID "','olduser',x'00112233',x'44556677',19456,2,1,111);"
    "INSERT INTO spaces VALUES('" SPACE "','Old space','from v1','',2,'" UID "',222);"
    "INSERT INTO space_members VALUES('" SPACE "','" UID "',222);"
    "INSERT INTO channels VALUES('" CHAN "','" SPACE "','general','',2,NULL,333);"
    "INSERT INTO channel_members VALUES('" CHAN "','" UID "',333);"
    "INSERT INTO messages(message_id,channel_id,chan_seq,sender_id,content,timestamp) VALUES"
    "('0b5e7a0e-1c1e-4d55-9b0e-3f8a9f0d2b11','" CHAN "',1,'" UID "','hello from v1',444);"
    "PRAGMA application_id=1397771844; PRAGMA user_version=1;";

/* What a v2 database held beyond v1: group state, a pending outbox entry, and rows in the tables
 * v3 drops. */
static const char V2_DATA[] =
    "INSERT INTO mls_state VALUES('" CHAN "','" UID "',7,x'0102030405',555);"
    "INSERT INTO outbox(dest_peer,origin_peer,origin_seq,type,payload,created_at) VALUES"
    "('home-peer','self-peer',9,3,x'c0ffee',666);"
    "INSERT INTO peers(addr,peer_id,added_at) VALUES('/ip4/127.0.0.1/tcp/4001','P1',777);"
    "INSERT INTO frames VALUES('P1',1,1,x'aa',888);"
    "INSERT INTO origin_progress VALUES('P1',1);"
    "PRAGMA user_version=2;";

static int table_exists(sqlite3 *sq, const char *name)
{
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_prepare_v2(sq, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            found = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return found;
}

/* Builds a database at path by running each SQL text in turn, as an older build would have. */
static void build(const char *path, const char *const *sql, size_t n)
{
    sqlite3 *sq = NULL;
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        char *msg = NULL;
        CHECK_MSG(sqlite3_exec(sq, sql[i], NULL, NULL, &msg) == SQLITE_OK, "step %zu: %s", i, msg ? msg : "");
        sqlite3_free(msg);
    }
    sqlite3_close(sq);
}

/* Opens the old database with this build and checks that it was migrated and kept its data. */
static void check_migrated(const char *path, int from)
{
    char err[256];
    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "v%d: %s", from, err);
    if (db) {
        /* the v1 data is there */
        store_profile p;
        CHECK(store_profile_by_name(db, "olduser", &p) == SP_OK && strcmp(p.user_id, UID) == 0 &&
              p.pw_hash_len == 4 && p.created_at == 111);
        store_profile_clear(&p);
        store_space s;
        CHECK(store_space_get(db, SPACE, UID, &s) == SP_OK && strcmp(s.name, "Old space") == 0 &&
              s.n_channels == 1 && s.n_members == 1);
        store_space_clear(&s);
        store_message *v = NULL;
        size_t n = 0;
        CHECK(store_messages_before(db, CHAN, NULL, 50, &v, &n) == SP_OK && n == 1 &&
              strcmp(v[0].content, "hello from v1") == 0);
        store_messages_free(v, n);
        store_frame *o = NULL;
        uint64_t epoch = 0;
        uint8_t *state = NULL;
        size_t state_len = 0;
        if (from >= 2) {
            /* the v2 data the current schema keeps is there too */
            CHECK(store_mls_state_get(db, CHAN, UID, &epoch, &state, &state_len) == SP_OK && epoch == 7 &&
                  state_len == 5 && state[4] == 5);
            free(state);
            CHECK(store_outbox_list(db, "home-peer", 0, 10, &o, &n) == SP_OK && n == 1 && o[0].origin_seq == 9 &&
                  o[0].type == 3 && o[0].len == 3 && memcmp(o[0].payload, "\xc0\xff\xee", 3) == 0 &&
                  strcmp(o[0].origin_peer, "self-peer") == 0);
            store_frames_free(o, n);
        }
        /* the tables added since work */
        uint8_t blob[4] = {1, 2, 3, 4};
        CHECK(store_mls_state_put(db, CHAN, UID, 8, blob, 4) == SP_OK);
        CHECK(store_mls_state_get(db, CHAN, UID, &epoch, &state, &state_len) == SP_OK && epoch == 8 &&
              state_len == 4);
        free(state);
        int64_t id = 0;
        CHECK(store_outbox_add(db, "home-peer", "self-peer", 10, 3, blob, 4, &id) == SP_OK && id > 0);
        CHECK(store_outbox_list(db, "home-peer", 0, 10, &o, &n) == SP_OK && n == (from >= 2 ? 2u : 1u) &&
              o[n - 1].id == id);
        store_frames_free(o, n);
        /* new messages continue the channel's order */
        store_message m = {0};
        memcpy(m.id, "0b5e7a0e-1c1e-4d55-9b0e-3f8a9f0d2b12", 37);
        memcpy(m.channel_id, CHAN, 65);
        m.sender_id = UID;
        m.content = "after migration";
        CHECK(store_message_put(db, &m) == SP_OK && m.seq == 2);
        store_close(db);
    }
    /* the file now says the current version, without the tables v3 dropped, and reopening does
     * not migrate again */
    sqlite3 *sq = NULL;
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(sq, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(sq, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
    CHECK_MSG(table_exists(sq, "peers") == 0, "v%d: peers dropped", from);
    CHECK_MSG(table_exists(sq, "frames") == 0, "v%d: frames dropped", from);
    CHECK_MSG(table_exists(sq, "origin_progress") == 0, "v%d: origin_progress dropped", from);
    CHECK_MSG(table_exists(sq, "outbox") == 1 && table_exists(sq, "mls_state") == 1, "v%d: outbox kept", from);
    sqlite3_close(sq);
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    store_close(db);
}

int main(void)
{
    char dir[] = "/tmp/sp-test-migrate-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128];

    snprintf(path, sizeof path, "%s/v1.db", dir);
    const char *const v1[] = {SCHEMA_V1, V1_DATA};
    build(path, v1, 2);
    check_migrated(path, 1);

    snprintf(path, sizeof path, "%s/v2.db", dir);
    const char *const v2[] = {SCHEMA_V1, V1_DATA, SCHEMA_V2_STEP, V2_DATA};
    build(path, v2, 4);
    check_migrated(path, 2);

    tmpdir_remove(dir);
    return check_done();
}
