/*
 * test_store_migrate.c — a database built by schema version 1 (its SQL frozen here, as shipped)
 * opens with the current build, is migrated, and keeps its data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "check.h"
#include "store/db.h"
#include "store/frames.h"
#include "store/messages.h"
#include "store/mls_state.h"
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

int main(void)
{
    char dir[] = "/tmp/sp-test-migrate-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/v1.db", dir);

    sqlite3 *sq = NULL;
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    CHECK(sqlite3_exec(sq, SCHEMA_V1, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(sq, V1_DATA, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(sq);

    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
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
        /* the v2 tables work */
        uint8_t blob[4] = {1, 2, 3, 4};
        CHECK(store_mls_state_put(db, CHAN, UID, 3, blob, 4) == SP_OK);
        int is_new = 0;
        CHECK(store_frame_put(db, "peer", 1, 1, blob, 4, &is_new) == SP_OK && is_new);
        /* new messages continue the channel's order */
        store_message m = {0};
        memcpy(m.id, "0b5e7a0e-1c1e-4d55-9b0e-3f8a9f0d2b12", 37);
        memcpy(m.channel_id, CHAN, 65);
        m.sender_id = UID;
        m.content = "after migration";
        CHECK(store_message_put(db, &m) == SP_OK && m.seq == 2);
        store_close(db);
    }
    /* the file now says the current version, and reopening does not migrate again */
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(sq, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == STORE_SCHEMA_VERSION);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(sq, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
    sqlite3_close(sq);
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    store_close(db);

    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_done();
}
