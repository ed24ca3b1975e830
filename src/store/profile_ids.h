/*
 * store/profile_ids.h — the ids of every local profile, oldest first (for work done per local
 * user, such as keeping a key package published for each). A separate file so the profiles
 * module stays as it is. The vector is malloc'd; free it with store_strv_free (store/spaces.h).
 */
#ifndef SP_STORE_PROFILE_IDS_H
#define SP_STORE_PROFILE_IDS_H

#include <stddef.h>
#include "store/db.h"

sp_err store_profile_ids(store_db *db, char ***ids, size_t *n);

#endif
