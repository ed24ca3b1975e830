/* profile_ids.c — listing local profile ids (see profile_ids.h). */
#include "store/profile_ids.h"

#include <stdlib.h>
#include "store/internal.h"

sp_err store_profile_ids(store_db *db, char ***ids, size_t *n)
{
    static const char SQL[] = "SELECT user_id FROM profiles ORDER BY created_at, user_id";
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    char **v = NULL;
    size_t k = 0, cap = 0;
    sp_err e = SP_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                e = SP_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        if (!(v[k] = store_col_text(st, 0))) {
            e = SP_ERR_NOMEM;
            break;
        }
        k++;
    }
    if (!e && rc != SQLITE_DONE)
        e = store_map(db, rc);
    sqlite3_reset(st);
    if (e) {
        for (size_t i = 0; i < k; i++)
            free(v[i]);
        free(v);
        return e;
    }
    *ids = v;
    *n = k;
    return SP_OK;
}
