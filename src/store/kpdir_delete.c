/* kpdir_delete.c — see kpdir_delete.h. */
#include "store/kpdir_delete.h"

#include "store/internal.h"

static sp_err kpdir_delete(store_db *db, const uint8_t *ref, size_t ref_len)
{
    sqlite3_stmt *st = store_stmt(db, "DELETE FROM kp_directory WHERE kp_ref = ?");
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_blob(st, 1, ref, ref_len);
    return store_exec_stmt(db, st);
}

sp_err store_kpdir_delete(store_db *db, const uint8_t *ref, size_t ref_len)
{
    STORE_TX(db, kpdir_delete(db, ref, ref_len));
}
