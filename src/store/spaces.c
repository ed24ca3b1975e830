/* spaces.c — the spaces, space_members, channels and channel_members tables. */
#include "store/spaces.h"

#include <stdlib.h>
#include <string.h>
#include "store/internal.h"

void store_strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void store_space_clear(store_space *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->description);
    free(s->icon_url);
    free(s->owner_id);
    store_strv_free(s->member_ids, s->n_members);
    store_strv_free(s->channel_ids, s->n_channels);
    memset(s, 0, sizeof *s);
}

void store_spaces_free(store_space *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_space_clear(&v[i]);
    free(v);
}

void store_channel_clear(store_channel *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->description);
    free(c->home_peer_id);
    store_strv_free(c->member_ids, c->n_members);
    memset(c, 0, sizeof *c);
}

void store_channels_free(store_channel *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_channel_clear(&v[i]);
    free(v);
}

/* ---- spaces ------------------------------------------------------------------------- */

static sp_err space_insert(store_db *db, const store_space *s, int or_ignore)
{
    static const char SQL[] =
        "INSERT INTO spaces(space_id, name, description, icon_url, visibility, owner_id, "
        "created_at) VALUES (?,?,?,?,?,?,?)";
    static const char SQL_IGNORE[] =
        "INSERT OR IGNORE INTO spaces(space_id, name, description, icon_url, visibility, owner_id, "
        "created_at) VALUES (?,?,?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, or_ignore ? SQL_IGNORE : SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, s->id);
    store_bind_text(st, 2, s->name ? s->name : "");
    store_bind_text(st, 3, s->description ? s->description : "");
    store_bind_text(st, 4, s->icon_url ? s->icon_url : "");
    sqlite3_bind_int(st, 5, s->visibility);
    store_bind_text(st, 6, s->owner_id ? s->owner_id : "");
    sqlite3_bind_int64(st, 7, s->created_at);
    return store_exec_stmt(db, st);
}

static sp_err add_space_member(store_db *db, const char *space_id, const char *user_id)
{
    static const char SQL[] =
        "INSERT OR IGNORE INTO space_members(space_id, user_id, joined_at) VALUES (?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, space_id);
    store_bind_text(st, 2, user_id);
    sqlite3_bind_int64(st, 3, store_now_ms());
    return store_exec_stmt(db, st);
}

static sp_err space_create(store_db *db, const store_space *s)
{
    sp_err e = space_insert(db, s, 0);
    if (!e && s->owner_id && s->owner_id[0])
        e = add_space_member(db, s->id, s->owner_id);
    return e;
}

sp_err store_space_create(store_db *db, const store_space *s)
{
    STORE_TX(db, space_create(db, s));
}

sp_err store_space_ensure(store_db *db, const store_space *s)
{
    STORE_TX(db, space_insert(db, s, 1));
}

sp_err store_space_add_member(store_db *db, const char *space_id, const char *user_id)
{
    STORE_TX(db, add_space_member(db, space_id, user_id));
}

static sp_err exists_row(store_db *db, sqlite3_stmt *st, int *found)
{
    sp_err e = store_step_row(db, st);
    sqlite3_reset(st);
    if (e && e != SP_ERR_NOT_FOUND)
        return e;
    *found = e == SP_OK;
    return SP_OK;
}

/* SP_ERR_NOT_FOUND when the space or channel (sql_parent, bound to parent_id) does not exist;
 * otherwise whether user_id is among its members (sql_member). */
static sp_err is_member_of(store_db *db, const char *sql_parent, const char *sql_member,
                           const char *parent_id, const char *user_id, int *is_member)
{
    sqlite3_stmt *st = store_stmt(db, sql_parent);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, parent_id);
    int found = 0;
    sp_err e = exists_row(db, st, &found);
    if (e)
        return e;
    if (!found)
        return SP_ERR_NOT_FOUND;
    if (!(st = store_stmt(db, sql_member)))
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, parent_id);
    store_bind_text(st, 2, user_id);
    return exists_row(db, st, is_member);
}

sp_err store_space_is_member(store_db *db, const char *space_id, const char *user_id, int *is_member)
{
    static const char SQL_SPACE[] = "SELECT 1 FROM spaces WHERE space_id = ?";
    static const char SQL_MEMBER[] =
        "SELECT 1 FROM space_members WHERE space_id = ? AND user_id = ?";
    return is_member_of(db, SQL_SPACE, SQL_MEMBER, space_id, user_id, is_member);
}

static const char SQL_VISIBLE_CHANNEL_IDS[] =
    "SELECT c.channel_id FROM channels c WHERE c.space_id = ?1 AND (?2 IS NULL OR c.visibility = 1 "
    "OR EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.channel_id AND "
    "m.user_id = ?2)) ORDER BY c.created_at, c.rowid";

static sp_err space_load(store_db *db, const char *space_id, const char *viewer, store_space *out)
{
    static const char SQL[] =
        "SELECT space_id, name, description, icon_url, visibility, owner_id, created_at "
        "FROM spaces WHERE space_id = ?";
    static const char SQL_MEMBERS[] =
        "SELECT user_id FROM space_members WHERE space_id = ? ORDER BY joined_at, user_id";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, space_id);
    sp_err e = store_step_row(db, st);
    if (e) {
        sqlite3_reset(st);
        return e;
    }
    store_col_text_into(st, 0, out->id, sizeof out->id);
    out->name = store_col_text(st, 1);
    out->description = store_col_text(st, 2);
    out->icon_url = store_col_text(st, 3);
    out->visibility = sqlite3_column_int(st, 4);
    out->owner_id = store_col_text(st, 5);
    out->created_at = sqlite3_column_int64(st, 6);
    sqlite3_reset(st);
    e = out->name && out->description && out->icon_url && out->owner_id ? SP_OK : SP_ERR_NOMEM;
    if (!e && (st = store_stmt(db, SQL_MEMBERS))) {
        store_bind_text(st, 1, space_id);
        e = store_collect_strings(db, st, &out->member_ids, &out->n_members);
    }
    if (!e && (st = store_stmt(db, SQL_VISIBLE_CHANNEL_IDS))) {
        store_bind_text(st, 1, space_id);
        store_bind_text(st, 2, viewer);
        e = store_collect_strings(db, st, &out->channel_ids, &out->n_channels);
    }
    if (!e && !st)
        e = SP_ERR_INTERNAL;
    if (e)
        store_space_clear(out);
    return e;
}

sp_err store_space_get(store_db *db, const char *space_id, const char *viewer, store_space *out)
{
    /* A read of several tables: one transaction so the parts are consistent. */
    STORE_RTX(db, space_load(db, space_id, viewer, out));
}

static sp_err space_list(store_db *db, const char *user_id, store_space **out, size_t *n)
{
    static const char SQL[] =
        "SELECT s.space_id FROM space_members m JOIN spaces s ON s.space_id = m.space_id "
        "WHERE m.user_id = ? ORDER BY s.created_at, s.rowid";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, user_id);
    char **ids = NULL;
    size_t nids = 0;
    sp_err e = store_collect_strings(db, st, &ids, &nids);
    if (e)
        return e;
    store_space *v = calloc(nids ? nids : 1, sizeof *v);
    if (!v) {
        store_strv_free(ids, nids);
        return SP_ERR_NOMEM;
    }
    size_t i = 0;
    for (; i < nids && !e; i++)
        e = space_load(db, ids[i], user_id, &v[i]);
    store_strv_free(ids, nids);
    if (e) {
        store_spaces_free(v, i);
        return e;
    }
    *out = v;
    *n = nids;
    return SP_OK;
}

sp_err store_space_list_for_user(store_db *db, const char *user_id, store_space **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    STORE_RTX(db, space_list(db, user_id, out, n));
}

/* ---- channels ----------------------------------------------------------------------- */

static sp_err channel_insert(store_db *db, const store_channel *c, int or_ignore)
{
    static const char SQL[] =
        "INSERT INTO channels(channel_id, space_id, name, description, visibility, home_peer_id, "
        "created_at) VALUES (?,?,?,?,?,?,?)";
    static const char SQL_IGNORE[] =
        "INSERT OR IGNORE INTO channels(channel_id, space_id, name, description, visibility, "
        "home_peer_id, created_at) VALUES (?,?,?,?,?,?,?)";
    sqlite3_stmt *st = store_stmt(db, or_ignore ? SQL_IGNORE : SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, c->id);
    store_bind_text(st, 2, c->space_id);
    store_bind_text(st, 3, c->name ? c->name : "");
    store_bind_text(st, 4, c->description ? c->description : "");
    sqlite3_bind_int(st, 5, c->visibility);
    store_bind_text(st, 6, c->home_peer_id);
    sqlite3_bind_int64(st, 7, c->created_at);
    return store_exec_stmt(db, st);
}

static sp_err add_channel_member(store_db *db, const char *channel_id, const char *user_id)
{
    static const char SQL[] =
        "INSERT OR IGNORE INTO channel_members(channel_id, user_id, added_at) VALUES (?,?,?)";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    store_bind_text(st, 2, user_id);
    sqlite3_bind_int64(st, 3, store_now_ms());
    return store_exec_stmt(db, st);
}

static sp_err channel_create(store_db *db, const store_channel *c, const char *creator_id)
{
    sp_err e = channel_insert(db, c, 0);
    if (!e && creator_id)
        e = add_channel_member(db, c->id, creator_id);
    return e;
}

sp_err store_channel_create(store_db *db, const store_channel *c, const char *creator_id)
{
    STORE_TX(db, channel_create(db, c, creator_id));
}

sp_err store_channel_ensure(store_db *db, const store_channel *c)
{
    STORE_TX(db, channel_insert(db, c, 1));
}

sp_err store_channel_add_member(store_db *db, const char *channel_id, const char *user_id)
{
    STORE_TX(db, add_channel_member(db, channel_id, user_id));
}

static sp_err remove_member(store_db *db, const char *channel_id, const char *user_id)
{
    static const char SQL[] = "DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    store_bind_text(st, 2, user_id);
    return store_exec_changed(db, st);
}

sp_err store_channel_remove_member(store_db *db, const char *channel_id, const char *user_id)
{
    STORE_TX(db, remove_member(db, channel_id, user_id));
}

sp_err store_channel_is_member(store_db *db, const char *channel_id, const char *user_id,
                               int *is_member)
{
    static const char SQL_CHANNEL[] = "SELECT 1 FROM channels WHERE channel_id = ?";
    static const char SQL_MEMBER[] =
        "SELECT 1 FROM channel_members WHERE channel_id = ? AND user_id = ?";
    return is_member_of(db, SQL_CHANNEL, SQL_MEMBER, channel_id, user_id, is_member);
}

static sp_err set_home(store_db *db, const char *channel_id, const char *home)
{
    static const char SQL[] = "UPDATE channels SET home_peer_id = ? WHERE channel_id = ?";
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, home);
    store_bind_text(st, 2, channel_id);
    return store_exec_changed(db, st);
}

sp_err store_channel_set_home(store_db *db, const char *channel_id, const char *home_peer_id)
{
    STORE_TX(db, set_home(db, channel_id, home_peer_id));
}

#define CHANNEL_COLS \
    "channel_id, space_id, name, description, visibility, home_peer_id, created_at"

/* Fills c from the current row of st (columns CHANNEL_COLS), then its member list. */
static sp_err channel_from_row(store_db *db, sqlite3_stmt *st, store_channel *c)
{
    static const char SQL_MEMBERS[] =
        "SELECT user_id FROM channel_members WHERE channel_id = ? ORDER BY added_at, user_id";
    memset(c, 0, sizeof *c);
    store_col_text_into(st, 0, c->id, sizeof c->id);
    store_col_text_into(st, 1, c->space_id, sizeof c->space_id);
    c->name = store_col_text(st, 2);
    c->description = store_col_text(st, 3);
    c->visibility = sqlite3_column_int(st, 4);
    c->home_peer_id = store_col_text(st, 5);
    c->created_at = sqlite3_column_int64(st, 6);
    if (!c->name || !c->description)
        return SP_ERR_NOMEM;
    sqlite3_stmt *m = store_stmt(db, SQL_MEMBERS);
    if (!m)
        return SP_ERR_INTERNAL;
    store_bind_text(m, 1, c->id);
    return store_collect_strings(db, m, &c->member_ids, &c->n_members);
}

static sp_err channel_get(store_db *db, const char *channel_id, store_channel *out)
{
    static const char SQL[] = "SELECT " CHANNEL_COLS " FROM channels WHERE channel_id = ?";
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = store_stmt(db, SQL);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, channel_id);
    sp_err e = store_step_row(db, st);
    if (!e)
        e = channel_from_row(db, st, out);
    sqlite3_reset(st);
    if (e)
        store_channel_clear(out);
    return e;
}

sp_err store_channel_get(store_db *db, const char *channel_id, store_channel *out)
{
    STORE_RTX(db, channel_get(db, channel_id, out));
}

static sp_err channel_list(store_db *db, const char *space_id, const char *viewer,
                           store_channel **out, size_t *n)
{
    sqlite3_stmt *st = store_stmt(db, SQL_VISIBLE_CHANNEL_IDS);
    if (!st)
        return SP_ERR_INTERNAL;
    store_bind_text(st, 1, space_id);
    store_bind_text(st, 2, viewer);
    char **ids = NULL;
    size_t nids = 0;
    sp_err e = store_collect_strings(db, st, &ids, &nids);
    if (e)
        return e;
    store_channel *v = calloc(nids ? nids : 1, sizeof *v);
    if (!v) {
        store_strv_free(ids, nids);
        return SP_ERR_NOMEM;
    }
    size_t i = 0;
    for (; i < nids && !e; i++)
        e = channel_get(db, ids[i], &v[i]);
    store_strv_free(ids, nids);
    if (e) {
        store_channels_free(v, i);
        return e;
    }
    *out = v;
    *n = nids;
    return SP_OK;
}

sp_err store_channel_list(store_db *db, const char *space_id, const char *viewer,
                          store_channel **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    STORE_RTX(db, channel_list(db, space_id, viewer, out, n));
}
