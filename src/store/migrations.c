/*
 * migrations.c — the schema, as the ordered list of steps that build it.
 *
 * Migration N takes a database from user_version N-1 to N. They are append-only: a released step
 * is never edited, because databases in the field were built by it; change the schema by adding
 * a step. docs/store.md explains each table.
 */
#include "store/internal.h"

/* v1: local users, spaces, channels, and the messages stored in them. */
static const char MIGRATION_1[] =
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

/* v2: what the network and MLS layers keep: group state, key packages, the address book, and the
 * frame log / outbox / per-origin progress that make fan-out durable and catch-up possible.
 * (The address book, frame log and per-origin progress went to the P2P layer's own file; v3 drops
 * them here. This step stays as released.) */
static const char MIGRATION_2[] =
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

/* v3: the address book and the gossip frame log with its per-origin progress live in net.db
 * (net/persist_sqlite.c), where relay writes take their own exclusive lock instead of contending
 * with this database's write transactions; the copies here were never used by the daemon. Their
 * rows are not carried over: net.db has always been the one the daemon read. The outbox stays. */
static const char MIGRATION_3[] =
    "DROP TABLE peers;"                           /* drops peers_by_id with it */
    "DROP TABLE frames;"
    "DROP TABLE origin_progress;";

/* v4: the gossip frames this daemon originates (store/own_frames.h), written in the same
 * transaction as the messages and MLS state they carry, so a send costs one fsync. */
static const char MIGRATION_4[] =
    "CREATE TABLE own_frames ("
    "  seq  INTEGER PRIMARY KEY,"                 /* 1, 2, 3, ... */
    "  body BLOB NOT NULL"                        /* net/frame.h gossip body */
    ");";

static const char *const MIGRATIONS[] = {MIGRATION_1, MIGRATION_2, MIGRATION_3, MIGRATION_4};

int store_migrations_count(void)
{
    return (int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]);
}

const char *store_migration_sql(int to_version)
{
    if (to_version < 1 || to_version > store_migrations_count())
        return NULL;
    return MIGRATIONS[to_version - 1];
}
