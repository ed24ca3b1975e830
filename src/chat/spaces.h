/*
 * chat/spaces.h — spaces and channels as a session's user sees them: validation of names and ids,
 * membership rules, and the records that back SpaceService.
 *
 * Rules: ids are 32 random bytes as 64 lowercase hex (a channel id is its MLS group id); names are
 * 1..100 bytes of UTF-8 without control characters, descriptions up to 1000 bytes; visibility 0
 * (unspecified) means private. A user sees the spaces they are a member of; in a space, the public
 * channels and the channels they belong to. Errors: SP_ERR_INVALID (bad id shape, name, visibility),
 * SP_ERR_NOT_FOUND (no such space), SP_ERR_PERMISSION (exists, caller not a member).
 *
 * Records returned are store types (store/spaces.h) owned by the caller.
 */
#ifndef SP_CHAT_SPACES_H
#define SP_CHAT_SPACES_H

#include "base/err.h"
#include "store/db.h"
#include "store/spaces.h"

#define CHAT_NAME_MAX 100
#define CHAT_DESCRIPTION_MAX 1000
#define CHAT_VISIBILITY_PUBLIC 1
#define CHAT_VISIBILITY_PRIVATE 2

typedef struct chat_spaces chat_spaces;

/*
 * Called inside the transaction that creates a channel, after its row and the creator's
 * membership are written, before the commit: the channels layer creates the MLS group here (group
 * id = ch->id) and stores its state in the same transaction. A non-SP_OK return rolls the channel
 * back and is the CreateChannel error. Without a hook, a channel is created with no MLS group.
 */
typedef sp_err (*chat_channel_created_fn)(void *ctx, const store_channel *ch, const char *creator_id);

/* db is borrowed. */
sp_err chat_spaces_new(store_db *db, chat_spaces **out);
void chat_spaces_free(chat_spaces *s);
void chat_spaces_set_channel_hook(chat_spaces *s, chat_channel_created_fn fn, void *ctx);
/* This daemon's peer id, recorded as the home of the channels it creates (copied; NULL ok). */
sp_err chat_spaces_set_self_peer(chat_spaces *s, const char *peer_id);

/* 1 if s is 64 lowercase hex characters. */
int chat_id_valid(const char *s);
/* 1 if name is an acceptable space/channel name. */
int chat_name_valid(const char *name);

sp_err chat_space_create(chat_spaces *s, const char *user_id, const char *name,
                         const char *description, int visibility, store_space *out);
sp_err chat_space_get(chat_spaces *s, const char *user_id, const char *space_id, store_space *out);
sp_err chat_space_list(chat_spaces *s, const char *user_id, store_space **out, size_t *n);
sp_err chat_channel_create(chat_spaces *s, const char *user_id, const char *space_id,
                           const char *name, const char *description, int visibility,
                           store_channel *out);
sp_err chat_channel_list(chat_spaces *s, const char *user_id, const char *space_id,
                         store_channel **out, size_t *n);

#endif
