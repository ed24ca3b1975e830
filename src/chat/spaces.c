/* spaces.c — SpaceService's domain rules over store/spaces. */
#include "chat/spaces.h"

#include <stdlib.h>
#include <string.h>
#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"

struct chat_spaces {
    store_db *db;
    chat_channel_created_fn hook;
    void *hook_ctx;
    char *self_peer;
};

sp_err chat_spaces_new(store_db *db, chat_spaces **out)
{
    *out = NULL;
    if (!db)
        return SP_ERR_INVALID;
    chat_spaces *s = calloc(1, sizeof *s);
    if (!s)
        return SP_ERR_NOMEM;
    s->db = db;
    *out = s;
    return SP_OK;
}

void chat_spaces_free(chat_spaces *s)
{
    if (!s)
        return;
    free(s->self_peer);
    free(s);
}

void chat_spaces_set_channel_hook(chat_spaces *s, chat_channel_created_fn fn, void *ctx)
{
    s->hook = fn;
    s->hook_ctx = ctx;
}

sp_err chat_spaces_set_self_peer(chat_spaces *s, const char *peer_id)
{
    char *c = NULL;
    if (peer_id && !(c = strdup(peer_id)))
        return SP_ERR_NOMEM;
    free(s->self_peer);
    s->self_peer = c;
    return SP_OK;
}

int chat_id_valid(const char *id)
{
    return id && sp_hex_is_lower(id, 32);
}

/* Strict UTF-8 (no overlongs, no surrogates), no C0/C1 controls or DEL. */
static int text_ok(const char *t, size_t max, int allow_newlines)
{
    const unsigned char *p = (const unsigned char *)t;
    size_t n = strlen(t);
    if (n > max)
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t'))) || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
            return 0;
        i += len;
    }
    return 1;
}

int chat_name_valid(const char *name)
{
    if (!name || !name[0] || !text_ok(name, CHAT_NAME_MAX, 0))
        return 0;
    /* not only spaces */
    for (const char *p = name; *p; p++)
        if (*p != ' ')
            return 1;
    return 0;
}

static int visibility(int v)
{
    if (v == 0)
        return CHAT_VISIBILITY_PRIVATE;
    return v == CHAT_VISIBILITY_PUBLIC || v == CHAT_VISIBILITY_PRIVATE ? v : -1;
}

static sp_err new_id(char out[65])
{
    uint8_t raw[32];
    sp_err e = sp_random(raw, sizeof raw);
    if (!e)
        sp_hex_encode(raw, sizeof raw, out);
    return e;
}

sp_err chat_space_create(chat_spaces *s, const char *user_id, const char *name,
                         const char *description, int vis, store_space *out)
{
    memset(out, 0, sizeof *out);
    if (!description)
        description = "";
    if (!chat_name_valid(name) || !text_ok(description, CHAT_DESCRIPTION_MAX, 1) ||
        visibility(vis) < 0)
        return SP_ERR_INVALID;
    store_space sp = {0};
    sp_err e = new_id(sp.id);
    if (e)
        return e;
    sp.name = (char *)name;
    sp.description = (char *)description;
    sp.icon_url = "";
    sp.visibility = visibility(vis);
    sp.owner_id = (char *)user_id;
    sp.created_at = store_now_ms();
    if ((e = store_space_create(s->db, &sp)))
        return e == SP_ERR_EXISTS ? SP_ERR_INTERNAL : e; /* a 256-bit collision is a bug */
    return store_space_get(s->db, sp.id, user_id, out);
}

/* NOT_FOUND / PERMISSION / OK for user_id looking at space_id. */
static sp_err may_see(chat_spaces *s, const char *user_id, const char *space_id)
{
    if (!chat_id_valid(space_id))
        return SP_ERR_INVALID;
    int member = 0;
    sp_err e = store_space_is_member(s->db, space_id, user_id, &member);
    if (e)
        return e;
    return member ? SP_OK : SP_ERR_PERMISSION;
}

sp_err chat_space_get(chat_spaces *s, const char *user_id, const char *space_id, store_space *out)
{
    memset(out, 0, sizeof *out);
    sp_err e = may_see(s, user_id, space_id);
    if (e)
        return e;
    return store_space_get(s->db, space_id, user_id, out);
}

sp_err chat_space_list(chat_spaces *s, const char *user_id, store_space **out, size_t *n)
{
    return store_space_list_for_user(s->db, user_id, out, n);
}

static sp_err channel_create_tx(chat_spaces *s, const store_channel *c, const char *user_id)
{
    sp_err e = store_channel_create(s->db, c, user_id);
    if (!e && s->hook)
        e = s->hook(s->hook_ctx, c, user_id);
    return e;
}

sp_err chat_channel_create(chat_spaces *s, const char *user_id, const char *space_id,
                           const char *name, const char *description, int vis, store_channel *out)
{
    memset(out, 0, sizeof *out);
    if (!description)
        description = "";
    if (!chat_id_valid(space_id) || !chat_name_valid(name) ||
        !text_ok(description, CHAT_DESCRIPTION_MAX, 1) || visibility(vis) < 0)
        return SP_ERR_INVALID;
    sp_err e = may_see(s, user_id, space_id);
    if (e)
        return e;
    store_channel c = {0};
    if ((e = new_id(c.id)))
        return e;
    memcpy(c.space_id, space_id, 65);
    c.name = (char *)name;
    c.description = (char *)description;
    c.visibility = visibility(vis);
    c.home_peer_id = s->self_peer;
    c.created_at = store_now_ms();
    /* The row, the membership and whatever the hook adds (the MLS group) commit together. */
    if ((e = store_tx_begin(s->db)))
        return e;
    e = store_tx_end(s->db, channel_create_tx(s, &c, user_id));
    if (e)
        return e == SP_ERR_EXISTS ? SP_ERR_INTERNAL : e;
    return store_channel_get(s->db, c.id, out);
}

sp_err chat_channel_list(chat_spaces *s, const char *user_id, const char *space_id,
                         store_channel **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sp_err e = may_see(s, user_id, space_id);
    if (e)
        return e;
    return store_channel_list(s->db, space_id, user_id, out, n);
}
