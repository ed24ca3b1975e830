/*
 * rows.c — the stepping and collecting loops every table module would otherwise write again:
 * one row or none, a write that must hit a row, a one-number query, a column of strings, and a
 * bounded array of typed rows. Declared in store/internal.h.
 */
#include <stdlib.h>
#include "store/internal.h"

sp_err store_step_row(store_db *db, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return SP_OK;
    if (rc == SQLITE_DONE)
        return SP_ERR_NOT_FOUND;
    return store_map(db, sqlite3_extended_errcode(db->sq));
}

sp_err store_exec_changed(store_db *db, sqlite3_stmt *st)
{
    sp_err e = store_exec_stmt(db, st);
    if (!e && sqlite3_changes(db->sq) == 0)
        e = SP_ERR_NOT_FOUND;
    return e;
}

sp_err store_query_int64(store_db *db, sqlite3_stmt *st, int64_t *v)
{
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? SP_OK : store_map(db, sqlite3_extended_errcode(db->sq));
}

sp_err store_collect_strings(store_db *db, sqlite3_stmt *st, char ***out, size_t *n)
{
    size_t cap = 0, len = 0;
    char **v = NULL;
    sp_err e = SP_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                e = SP_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[len] = store_col_text(st, 0))) {
            e = SP_ERR_NOMEM;
            break;
        }
        len++;
    }
    if (!e && rc != SQLITE_DONE)
        e = store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e) {
        for (size_t i = 0; i < len; i++)
            free(v[i]);
        free(v);
        return e;
    }
    *out = v;
    *n = len;
    return SP_OK;
}

sp_err store_collect_rows(store_db *db, sqlite3_stmt *st, int limit, size_t elem_size,
                          store_row_fill fill, store_row_clear clear, void **out, size_t *n)
{
    size_t cap = limit > 0 ? (size_t)limit : 0;
    unsigned char *v = calloc(cap ? cap : 1, elem_size);
    if (!v)
        return SP_ERR_NOMEM;
    size_t k = 0;
    sp_err e = SP_OK;
    int rc = SQLITE_DONE;
    while (k < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((e = fill(st, v + elem_size * k++)))
            break;
    }
    if (!e && k < cap && rc != SQLITE_DONE)
        e = store_map(db, sqlite3_extended_errcode(db->sq));
    sqlite3_reset(st);
    if (e) {
        for (size_t i = 0; i < k; i++)
            clear(v + elem_size * i);
        free(v);
        return e;
    }
    *out = v;
    *n = k;
    return SP_OK;
}
