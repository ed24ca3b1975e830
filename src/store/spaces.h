/*
 * store/spaces.h — spaces, channels and who belongs to each.
 *
 * Membership rows name user ids, local or remote (a remote member is not a local profile, so there
 * is no foreign key to profiles). Channels belong to one space; a channel's id is its MLS group id.
 * Visibility is stored as the API's integer (1 public, 2 private); store/ does not interpret it.
 *
 * Returned structs own their strings and id lists (malloc'd); release them with
 * store_space_clear / store_channel_clear, arrays with store_spaces_free / store_channels_free.
 */
#ifndef SP_STORE_SPACES_H
#define SP_STORE_SPACES_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    char id[65];
    char *name;
    char *description;
    char *icon_url;
    int visibility;
    char *owner_id;
    int64_t created_at;
    char **member_ids;      /* filled by store_space_get (and the list), count in n_members */
    size_t n_members;
    char **channel_ids;     /* channels of the space visible to the viewer */
    size_t n_channels;
} store_space;

typedef struct {
    char id[65];
    char space_id[65];
    char *name;
    char *description;
    int visibility;
    char *home_peer_id;     /* may be NULL: not yet known */
    int64_t created_at;
    char **member_ids;
    size_t n_members;
} store_channel;

void store_space_clear(store_space *s);
void store_spaces_free(store_space *v, size_t n);
void store_channel_clear(store_channel *c);
void store_channels_free(store_channel *v, size_t n);
void store_strv_free(char **v, size_t n);

/* Inserts the space and makes its owner a member, in one transaction.
 * SP_ERR_EXISTS if the id is taken. */
sp_err store_space_create(store_db *db, const store_space *s);
/* Inserts the space if it is absent (e.g. learnt from an invite); SP_OK either way. */
sp_err store_space_ensure(store_db *db, const store_space *s);
/* Loads one space; viewer (may be NULL = everyone) selects which channel ids are listed: public
 * channels and those viewer is a member of. SP_ERR_NOT_FOUND when absent. */
sp_err store_space_get(store_db *db, const char *space_id, const char *viewer, store_space *out);
/* The spaces user_id is a member of, oldest first, each fully loaded as by store_space_get. */
sp_err store_space_list_for_user(store_db *db, const char *user_id, store_space **out, size_t *n);
sp_err store_space_add_member(store_db *db, const char *space_id, const char *user_id);
/* *is_member is 1 or 0; SP_ERR_NOT_FOUND if the space does not exist. */
sp_err store_space_is_member(store_db *db, const char *space_id, const char *user_id, int *is_member);

/* Inserts the channel with creator_id (may be NULL) as its first member, one transaction.
 * SP_ERR_EXISTS if the id is taken, SP_ERR_NOT_FOUND if the space does not exist. */
sp_err store_channel_create(store_db *db, const store_channel *c, const char *creator_id);
/* Inserts the channel if absent (a joiner learning it from an invite); SP_OK either way. */
sp_err store_channel_ensure(store_db *db, const store_channel *c);
sp_err store_channel_get(store_db *db, const char *channel_id, store_channel *out);
/* Channels of a space visible to viewer (public ones and those viewer belongs to; NULL = all),
 * oldest first. */
sp_err store_channel_list(store_db *db, const char *space_id, const char *viewer,
                          store_channel **out, size_t *n);
sp_err store_channel_add_member(store_db *db, const char *channel_id, const char *user_id);
/* SP_ERR_NOT_FOUND when user_id was not a member. */
sp_err store_channel_remove_member(store_db *db, const char *channel_id, const char *user_id);
sp_err store_channel_is_member(store_db *db, const char *channel_id, const char *user_id,
                               int *is_member);
sp_err store_channel_set_home(store_db *db, const char *channel_id, const char *home_peer_id);

#endif
