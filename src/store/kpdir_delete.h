/*
 * store/kpdir_delete.h — forgetting one key package of the directory (store/mls_state.h) by its
 * reference, when the network says it has been used. A separate file so mls_state.c stays as it is.
 */
#ifndef SP_STORE_KPDIR_DELETE_H
#define SP_STORE_KPDIR_DELETE_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

/* SP_OK whether or not it was there. */
sp_err store_kpdir_delete(store_db *db, const uint8_t *ref, size_t ref_len);

#endif
