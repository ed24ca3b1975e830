/* profile_ids.c — listing local profile ids (see profile_ids.h). */
#include "store/profile_ids.h"

#include "store/internal.h"

sp_err store_profile_ids(store_db *db, char ***ids, size_t *n)
{
    static const char SQL[] = "SELECT user_id FROM profiles ORDER BY created_at, user_id";
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    return store_collect_strings(db, st, ids, n);
}
