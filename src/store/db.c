/*
 * db.c — opening the database safely, migrating it, the statement cache and transactions.
 */
#include "store/internal.h"
#include "base/wal_checkpointer.h"
#include "base/walbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "base/log.h"

/* 'SPND': marks the file as ours so we never migrate someone else's database. */
#define STORE_APPLICATION_ID 0x53504e44
#define CHECKPOINT_PAGES 1000     /* sqlite's own wal_autocheckpoint default */
#define CHECKPOINT_PERIOD_MS 1000 /* and at least this often while running */

_Static_assert(STORE_SCHEMA_VERSION == 4, "add the migration step and bump the version together");

int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

sp_err store_map(store_db *db, int rc)
{
    (void)db;
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return SP_OK;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            return SP_ERR_NOT_FOUND;
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return SP_ERR_EXISTS;
        return SP_ERR_INTERNAL; /* NOT NULL / CHECK: callers validate first, so a bug */
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SP_ERR_AGAIN;
    case SQLITE_NOMEM:
        return SP_ERR_NOMEM;
    case SQLITE_TOOBIG:
        return SP_ERR_TOO_LARGE;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SP_ERR_IO; /* our fault, not the caller's: never INVALID_ARGUMENT */
    default:
        return SP_ERR_IO;
    }
}

const char *store_errmsg(store_db *db)
{
    return db && db->sq ? sqlite3_errmsg(db->sq) : "no database";
}

sp_err store_exec(store_db *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->sq, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        SP_DEBUG("store: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return store_map(db, sqlite3_extended_errcode(db->sq));
    }
    return SP_OK;
}

sqlite3_stmt *store_stmt(store_db *db, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 3) * 2654435761u;
    for (size_t i = 0; i < STORE_STMT_SLOTS; i++) {
        size_t k = (h + i) % STORE_STMT_SLOTS;
        if (db->stmts[k].sql == sql) {
            sqlite3_stmt *st = db->stmts[k].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
        if (!db->stmts[k].sql) {
            sqlite3_stmt *st = NULL;
            int rc = sqlite3_prepare_v3(db->sq, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
            if (rc != SQLITE_OK) {
                SP_ERROR("store: cannot prepare \"%.60s\": %s", sql, sqlite3_errmsg(db->sq));
                return NULL;
            }
            db->stmts[k].sql = sql;
            db->stmts[k].st = st;
            return st;
        }
    }
    /* More distinct statements than slots is a programming error: raise STORE_STMT_SLOTS. */
    SP_ERROR("store: statement cache full");
    return NULL;
}

sp_err store_exec_stmt(store_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sp_err e = rc == SQLITE_DONE ? SP_OK : store_map(db, sqlite3_extended_errcode(db->sq));
    if (rc == SQLITE_ROW)
        e = SP_OK;
    sqlite3_reset(st);
    return e;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int store_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    static const uint8_t empty[1];
    return sqlite3_bind_blob64(st, i, p ? p : empty, n, SQLITE_STATIC);
}

char *store_col_text(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    memcpy(s, t ? (const char *)t : "", (size_t)n);
    s[n] = '\0';
    return s;
}

void store_col_text_into(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, t ? (const char *)t : "", n);
    out[n] = '\0';
}

sp_err store_col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len)
{
    const void *p = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return SP_ERR_NOMEM;
    if (n)
        memcpy(b, p, n);
    *out = b;
    *len = n;
    return SP_OK;
}

/* ---- transactions ------------------------------------------------------------------- */

static sp_err tx_begin(store_db *db, int write)
{
    static const char BEGIN_W[] = "BEGIN IMMEDIATE";
    static const char BEGIN_R[] = "BEGIN DEFERRED";
    static const char SAVE[] = "SAVEPOINT sp_nested";
    sqlite3_stmt *st = store_stmt(db, db->tx_depth ? SAVE : write ? BEGIN_W : BEGIN_R);
    if (!st)
        return SP_ERR_INTERNAL;
    sp_err e = store_exec_stmt(db, st);
    if (e == SP_OK)
        db->tx_depth++;
    return e;
}

/* Writers take the write lock up front: a deferred transaction that upgrades later can fail with
 * SQLITE_BUSY without waiting, where IMMEDIATE waits out the busy timeout. */
sp_err store_tx_begin(store_db *db)
{
    return tx_begin(db, 1);
}

sp_err store_tx_begin_read(store_db *db)
{
    return tx_begin(db, 0);
}

sp_err store_tx_end(store_db *db, sp_err ok)
{
    static const char COMMIT[] = "COMMIT";
    static const char ROLLBACK[] = "ROLLBACK";
    static const char RELEASE[] = "RELEASE sp_nested";
    static const char ROLLBACK_TO[] = "ROLLBACK TO sp_nested";
    if (db->tx_depth <= 0)
        return SP_ERR_STATE;
    if (db->tx_depth == 1) {
        if (ok == SP_OK) {
            sp_err e = store_exec_stmt(db, store_stmt(db, COMMIT));
            if (e == SP_OK) {
                db->tx_depth = 0;
                return SP_OK;
            }
            SP_ERROR("store: commit failed: %s", store_errmsg(db));
            ok = e;
        }
        /* After a failed COMMIT sqlite may already have rolled back; ROLLBACK then errors
         * harmlessly. Either way nothing of this transaction is kept. */
        if (!sqlite3_get_autocommit(db->sq))
            store_exec_stmt(db, store_stmt(db, ROLLBACK));
        db->tx_depth = 0;
        return ok;
    }
    if (ok != SP_OK)
        store_exec_stmt(db, store_stmt(db, ROLLBACK_TO));
    store_exec_stmt(db, store_stmt(db, RELEASE));
    db->tx_depth--;
    return ok;
}

/* ---- opening ------------------------------------------------------------------------- */

static int pragma_int(store_db *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db->sq, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        rc = sqlite3_extended_errcode(db->sq);
    sqlite3_finalize(st);
    return rc;
}

static sp_err migrate(store_db *db, int from, char *errbuf, size_t errlen)
{
    /* One transaction for all steps: a crash mid-migration leaves the old version intact. */
    sp_err e = store_exec(db, "BEGIN IMMEDIATE");
    if (e) {
        set_err(errbuf, errlen, "cannot start the migration: %s", store_errmsg(db));
        return e;
    }
    for (int v = from + 1; v <= STORE_SCHEMA_VERSION; v++) {
        e = store_exec(db, store_migration_sql(v));
        if (e) {
            set_err(errbuf, errlen, "migration to schema %d failed: %s", v, store_errmsg(db));
            break;
        }
    }
    if (!e) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d",
                 STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
        e = store_exec(db, sql);
    }
    if (!e)
        e = store_exec(db, "COMMIT");
    if (e) {
        store_exec(db, "ROLLBACK");
        if (errbuf && !errbuf[0])
            set_err(errbuf, errlen, "migration failed: %s", store_errmsg(db));
        return e;
    }
    if (from > 0)
        SP_INFO("store: migrated schema %d -> %d", from, STORE_SCHEMA_VERSION);
    return SP_OK;
}

/* Reads the header and schema without writing anything, so a file we must refuse stays intact. */
static sp_err inspect(store_db *db, const char *path, int64_t *version, char *errbuf, size_t errlen)
{
    int64_t app = 0, ntables = 0;
    int rc = pragma_int(db, "PRAGMA user_version", version);
    if (rc == SQLITE_OK)
        rc = pragma_int(db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK)
        rc = pragma_int(db, "SELECT count(*) FROM sqlite_master", &ntables);
    if (rc != SQLITE_OK) {
        set_err(errbuf, errlen, "%s is not a usable sqlite database (%s); refusing to touch it",
                path, sqlite3_errstr(rc));
        return SP_ERR_INVALID;
    }
    if (*version == 0 && ntables > 0) {
        set_err(errbuf, errlen, "%s holds tables but no spacepanda schema version; refusing it", path);
        return SP_ERR_INVALID;
    }
    if (*version > 0 && app != STORE_APPLICATION_ID) {
        set_err(errbuf, errlen, "%s is a database of another application (id 0x%llx); refusing it",
                path, (unsigned long long)app);
        return SP_ERR_INVALID;
    }
    if (*version > 0 && *version <= STORE_SCHEMA_VERSION) {
        /* A damaged page deep in the file would otherwise surface as odd errors at run time, or
         * worse, be written over. quick_check reads every page (about 1.5 s per million messages
         * here) and writes nothing. */
        sqlite3_stmt *st = NULL;
        int qrc = sqlite3_prepare_v2(db->sq, "PRAGMA quick_check(1)", -1, &st, NULL);
        if (qrc == SQLITE_OK)
            qrc = sqlite3_step(st);
        const char *res = qrc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (!res || strcmp(res, "ok") != 0) {
            set_err(errbuf, errlen, "%s fails its integrity check (%s); refusing to touch it", path,
                    res ? res : sqlite3_errmsg(db->sq));
            sqlite3_finalize(st);
            return SP_ERR_INVALID;
        }
        sqlite3_finalize(st);
    }
    if (*version > STORE_SCHEMA_VERSION) {
        set_err(errbuf, errlen,
                "%s has schema version %lld, newer than this build's %d; refusing to open it "
                "(upgrade spacepandad)",
                path, (long long)*version, STORE_SCHEMA_VERSION);
        return SP_ERR_UNSUPPORTED;
    }
    return SP_OK;
}

/* After each commit, with the log's size in pages: past the size sqlite would checkpoint at,
 * the checkpoint thread does it (returning SQLITE_OK here replaces the automatic checkpoint). */
static int wal_grew(void *arg, sqlite3 *sq, const char *name, int pages)
{
    (void)sq, (void)name;
    if (pages >= CHECKPOINT_PAGES)
        sp_wal_checkpointer_kick(((store_db *)arg)->ckpt);
    return SQLITE_OK;
}

sp_err store_open(const char *path, store_db **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    store_db *db = calloc(1, sizeof *db);
    if (!db)
        return SP_ERR_NOMEM;
    /* one write(2) per commit instead of two per page (base/walbuf.h) */
    int rc = sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             sp_walbuf_vfs());
    if (rc != SQLITE_OK) {
        set_err(errbuf, errlen, "cannot open %s: %s", path,
                db->sq ? sqlite3_errmsg(db->sq) : sqlite3_errstr(rc));
        store_close(db);
        return SP_ERR_IO;
    }
    sqlite3_extended_result_codes(db->sq, 1);
    sqlite3_busy_timeout(db->sq, 5000);

    int64_t version = 0;
    sp_err e = inspect(db, path, &version, errbuf, errlen);
    if (e) {
        store_close(db);
        return e;
    }
    int64_t dummy;
    /* journal_mode returns a row; the others are silent. */
    if (pragma_int(db, "PRAGMA journal_mode=WAL", &dummy) != SQLITE_OK ||
        store_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; "
                       "PRAGMA temp_store=MEMORY") != SP_OK) {
        set_err(errbuf, errlen, "cannot configure %s: %s", path, store_errmsg(db));
        store_close(db);
        return SP_ERR_IO;
    }
    if (version < STORE_SCHEMA_VERSION) {
        e = migrate(db, (int)version, errbuf, errlen);
        if (e) {
            store_close(db);
            return e;
        }
    }
    size_t plen = strlen(path);
    if ((db->wal_path = malloc(plen + 5)))
        snprintf(db->wal_path, plen + 5, "%s-wal", path);
    /* Checkpoints on their own thread: never a multi-millisecond copy inside a commit here. */
    if (sp_wal_checkpointer_start(path, CHECKPOINT_PERIOD_MS, &db->ckpt) == SP_OK)
        sqlite3_wal_hook(db->sq, wal_grew, db);
    else
        SP_WARN("store: checkpoints stay inside commits (no checkpoint thread)");
    /* The database is private to the daemon's user. */
    if (chmod(path, 0600) != 0 && errno != ENOENT)
        SP_WARN("store: cannot chmod %s: %s", path, strerror(errno));
    *out = db;
    return SP_OK;
}

sp_err store_set_durable(store_db *db, int durable)
{
    return store_exec(db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
}

sp_err store_sync(store_db *db)
{
    if (!db->wal_path)
        return SP_ERR_STATE;
    int fd = open(db->wal_path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return SP_OK; /* no log: every commit is in the database file, which sqlite synced */
    int r = fd < 0 ? -1 : fdatasync(fd);
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (r != 0) {
        SP_ERROR("store: cannot sync %s: %s", db->wal_path, strerror(err));
        return SP_ERR_IO;
    }
    return SP_OK;
}

void store_close(store_db *db)
{
    if (!db)
        return;
    free(db->wal_path);
    sp_wal_checkpointer_stop(db->ckpt); /* closing the last connection checkpoints what is left */
    for (size_t i = 0; i < STORE_STMT_SLOTS; i++)
        if (db->stmts[i].st)
            sqlite3_finalize(db->stmts[i].st);
    if (db->sq)
        sqlite3_close(db->sq);
    free(db);
}
