/*
 * store/internal.h — what the store_* modules share and nobody else sees: the connection, the
 * prepared-statement cache, and sqlite error mapping.
 */
#ifndef SP_STORE_INTERNAL_H
#define SP_STORE_INTERNAL_H

#include <sqlite3.h>
#include "store/db.h"

#define STORE_STMT_SLOTS 256

struct sp_wal_checkpointer;

struct store_db {
    sqlite3 *sq;
    int tx_depth;
    struct sp_wal_checkpointer *ckpt; /* WAL checkpoints off the caller's thread (checkpointer.h) */
    char *wal_path;                  /* "<file>-wal", for store_sync */
    /* Statement cache keyed by the address of the SQL string literal: each call site passes the
     * same static string, so a pointer compare finds it; prepared once, reused (reset) forever. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } stmts[STORE_STMT_SLOTS];
};

/* Returns the cached statement for sql, reset and with bindings cleared; NULL on failure. */
sqlite3_stmt *store_stmt(store_db *db, const char *sql);
/* Maps a sqlite result code to sp_err (constraint → SP_ERR_EXISTS, busy → SP_ERR_AGAIN, …). */
sp_err store_map(store_db *db, int rc);
/* Steps a statement expected to finish with SQLITE_DONE; resets it. */
sp_err store_exec_stmt(store_db *db, sqlite3_stmt *st);
/* Runs literal SQL (no results wanted) — for pragmas and migrations. */
sp_err store_exec(store_db *db, const char *sql);

/* Binding helpers: NULL strings bind as SQL NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *s);
int store_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);
/* Column helpers returning malloc'd copies (NULL for SQL NULL). */
char *store_col_text(sqlite3_stmt *st, int i);
/* Copies a column into a fixed buffer of cap bytes (truncating safely, always NUL-terminated). */
void store_col_text_into(sqlite3_stmt *st, int i, char *out, size_t cap);
/* Copies a blob column into a malloc'd buffer; an empty blob yields a 1-byte allocation, len 0. */
sp_err store_col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len);

/* Row loops (rows.c). None of them opens a transaction: callers run them inside one. */
/* Steps st once: SP_OK with a row ready to read, SP_ERR_NOT_FOUND when there is none, the mapped
 * error otherwise. Does not reset: the caller reads the row, then resets. */
sp_err store_step_row(store_db *db, sqlite3_stmt *st);
/* store_exec_stmt for a write that must hit a row (UPDATE/DELETE by key): SP_ERR_NOT_FOUND when
 * no row changed. */
sp_err store_exec_changed(store_db *db, sqlite3_stmt *st);
/* Runs a one-row query (count, max) and reads column 0 as an integer (0 for NULL); resets. */
sp_err store_query_int64(store_db *db, sqlite3_stmt *st, int64_t *v);
/* Collects column 0 of every row into a malloc'd string vector (free with store_strv_free, in
 * store/spaces.h); nothing is returned on failure. Resets. */
sp_err store_collect_strings(store_db *db, sqlite3_stmt *st, char ***out, size_t *n);
/* Reads up to limit rows into a fresh zeroed array of limit elements of elem_size bytes: fill
 * copies the current row into one element (leaving it safe to clear if it fails). On failure every
 * element filled so far is released with clear, the array freed, and nothing returned. Resets. */
typedef sp_err (*store_row_fill)(sqlite3_stmt *st, void *elem);
typedef void (*store_row_clear)(void *elem);
sp_err store_collect_rows(store_db *db, sqlite3_stmt *st, int limit, size_t elem_size,
                          store_row_fill fill, store_row_clear clear, void **out, size_t *n);

/* One operation = one transaction, or a savepoint inside the caller's transaction. */
#define STORE_TX(db, expr)                                           \
    do {                                                             \
        sp_err tx_e_ = store_tx_begin(db);                           \
        if (tx_e_)                                                   \
            return tx_e_;                                            \
        tx_e_ = (expr);                                              \
        return store_tx_end(db, tx_e_);                              \
    } while (0)

/* The same for reads: a deferred transaction, so readers never take the write lock. */
sp_err store_tx_begin_read(store_db *db);
#define STORE_RTX(db, expr)                                          \
    do {                                                             \
        sp_err tx_e_ = store_tx_begin_read(db);                      \
        if (tx_e_)                                                   \
            return tx_e_;                                            \
        tx_e_ = (expr);                                              \
        return store_tx_end(db, tx_e_);                              \
    } while (0)

/* Schema (migrations.c). */
int store_migrations_count(void);
const char *store_migration_sql(int to_version);

#endif
