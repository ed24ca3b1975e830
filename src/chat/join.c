/* join.c — joining a channel from a Welcome: by JoinChannel, or by itself when a local user is
 * added by another daemon (see channels.h, docs/chat.md). */
#include "chat/channels_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <event2/event.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/rand.h"
#include "mls/codec.h"
#include "store/mls_state.h"
#include "store/outbox.h"
#include "store/profiles.h"


/* ---- joining ------------------------------------------------------------------------------------ */

/* The Welcome as a struct and as MLSMessage bytes (a bare Welcome is wrapped). */
static sp_err parse_welcome(const uint8_t *p, size_t n, mls_message *msg, const mls_welcome **w,
                            sp_buf *bytes)
{
    memset(msg, 0, sizeof *msg);
    if (mls_message_decode(p, n, msg) == SP_OK) {
        if (msg->wire_format != MLS_WIRE_WELCOME) {
            mls_message_free(msg);
            return SP_ERR_INVALID;
        }
        *w = &msg->welcome;
        return sp_buf_append(bytes, p, n);
    }
    memset(msg, 0, sizeof *msg);
    if (mls_welcome_decode(p, n, &msg->welcome) != SP_OK)
        return SP_ERR_INVALID;
    msg->version = MLS_VERSION_10;
    msg->wire_format = MLS_WIRE_WELCOME;
    *w = &msg->welcome;
    sp_err e = sp_buf_put_u16(bytes, MLS_VERSION_10);
    if (!e)
        e = sp_buf_put_u16(bytes, MLS_WIRE_WELCOME);
    if (!e)
        e = sp_buf_append(bytes, p, n);
    return e;
}

static int group_facts(const mls_group *g, chat_facts *f)
{
    const mls_extension_list *l = mls_group_extensions(g);
    for (size_t i = 0; l && i < l->n; i++)
        if (l->v[i].type == MLS_EXT_SPACEPANDA)
            return chat_facts_decode(l->v[i].data.data, l->v[i].data.len, f) == SP_OK;
    return 0;
}

sp_err chan_join_welcome(chat_channels *c, const char *user_id, const chat_join_req *req,
                      const char *home_hint, char *channel_id, char *msg, size_t msglen)
{
    if (req->space_id && req->space_id[0] && !chat_id_valid(req->space_id)) {
        chan_say(msg, msglen, "space_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    if (req->channel_id && req->channel_id[0] && !chat_id_valid(req->channel_id)) {
        chan_say(msg, msglen, "channel_id must be 64 lowercase hex characters");
        return SP_ERR_INVALID;
    }
    if (req->channel_name && req->channel_name[0] && !chat_name_valid(req->channel_name)) {
        chan_say(msg, msglen, "channel_name is not an acceptable name");
        return SP_ERR_INVALID;
    }
    mls_message wm;
    const mls_welcome *w = NULL;
    sp_buf wbytes;
    sp_buf_init(&wbytes);
    if (!req->welcome_len || parse_welcome(req->welcome, req->welcome_len, &wm, &w, &wbytes) != SP_OK) {
        sp_buf_free(&wbytes);
        chan_say(msg, msglen, "invite_token is not an MLS Welcome");
        return SP_ERR_INVALID;
    }
    uint8_t ref[MLS_HASH_LEN], *priv = NULL;
    size_t priv_len = 0;
    char owner[37];
    sp_err e = keypackage_for_welcome(c, w, ref, owner, &priv, &priv_len);
    mls_message_free(&wm);
    if (e || strcmp(owner, user_id) != 0) {
        if (!e) {
            OPENSSL_cleanse(priv, priv_len);
            free(priv);
        }
        sp_buf_free(&wbytes);
        chan_say(msg, msglen, "the invite is not for an unused key package of this user "
                         "(already used, or made for someone else)");
        return e && e != SP_ERR_NOT_FOUND ? e : SP_ERR_STATE;
    }
    mls_group *g = NULL;
    e = mls_group_join(wbytes.data, wbytes.len, req->ratchet_tree, req->ratchet_tree ? req->tree_len : 0,
                       priv, priv_len, NULL, 0, NULL, &g);
    OPENSSL_cleanse(priv, priv_len);
    free(priv);
    sp_buf_free(&wbytes);
    if (e) {
        chan_say(msg, msglen, e == SP_ERR_NOT_FOUND ? "the invite is not for this user's key package"
                                               : "the invite does not verify (Welcome or ratchet tree)");
        return e == SP_ERR_NOT_FOUND ? SP_ERR_STATE : SP_ERR_INVALID;
    }
    sp_slice gid = mls_group_id(g);
    if (gid.len != 32) {
        mls_group_free(g);
        chan_say(msg, msglen, "the group id is not a 32-byte channel id");
        return SP_ERR_INVALID;
    }
    char id[65];
    sp_hex_encode(gid.ptr, 32, id);
    if (req->channel_id && req->channel_id[0] && strcmp(req->channel_id, id) != 0) {
        mls_group_free(g);
        chan_say(msg, msglen, "channel_id does not match the invite's group");
        return SP_ERR_INVALID;
    }
    chat_facts f;
    int have_facts = group_facts(g, &f);
    char space_id[65], space_name[CHAT_NAME_MAX + 1], chan_name[CHAT_NAME_MAX + 1], home[65];
    snprintf(space_id, sizeof space_id, "%s",
             req->space_id && req->space_id[0] ? req->space_id : have_facts ? f.space_id : id);
    if (have_facts && f.space_name.len && f.space_name.len <= CHAT_NAME_MAX)
        snprintf(space_name, sizeof space_name, "%.*s", (int)f.space_name.len, (const char *)f.space_name.ptr);
    else
        snprintf(space_name, sizeof space_name, "space %.8s", space_id);
    if (req->channel_name && req->channel_name[0])
        snprintf(chan_name, sizeof chan_name, "%s", req->channel_name);
    else if (have_facts && f.channel_name.len && f.channel_name.len <= CHAT_NAME_MAX)
        snprintf(chan_name, sizeof chan_name, "%.*s", (int)f.channel_name.len, (const char *)f.channel_name.ptr);
    else
        snprintf(chan_name, sizeof chan_name, "channel %.8s", id);
    snprintf(home, sizeof home, "%s", have_facts && f.home_peer[0] ? f.home_peer : home_hint ? home_hint : "");
    if (!chat_name_valid(space_name))
        snprintf(space_name, sizeof space_name, "space %.8s", space_id);
    if (!chat_name_valid(chan_name))
        snprintf(chan_name, sizeof chan_name, "channel %.8s", id);

    batch_flush(c);
    chan *ch = NULL;
    if (chan_get(c, id, &ch) == SP_OK && chan_member(ch, user_id)) {
        mls_group_free(g);
        chan_say(msg, msglen, "already a member of this channel");
        return SP_ERR_STATE;
    }

    e = store_tx_begin(c->db);
    if (!e) {
        store_space sp;
        memset(&sp, 0, sizeof sp);
        snprintf(sp.id, sizeof sp.id, "%s", space_id);
        sp.name = space_name;
        sp.description = "";
        sp.icon_url = "";
        sp.visibility = CHAT_VISIBILITY_PRIVATE;
        sp.owner_id = (char *)user_id;
        sp.created_at = store_now_ms();
        e = store_space_ensure(c->db, &sp);
    }
    if (!e)
        e = store_space_add_member(c->db, space_id, user_id);
    if (!e) {
        store_channel sc;
        memset(&sc, 0, sizeof sc);
        snprintf(sc.id, sizeof sc.id, "%s", id);
        snprintf(sc.space_id, sizeof sc.space_id, "%s", space_id);
        sc.name = chan_name;
        sc.description = "";
        sc.visibility = CHAT_VISIBILITY_PRIVATE;
        sc.home_peer_id = home[0] ? home : NULL;
        sc.created_at = store_now_ms();
        e = store_channel_ensure(c->db, &sc);
    }
    if (!e && home[0])
        e = store_channel_set_home(c->db, id, home);
    chan tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.id, sizeof tmp.id, "%s", id);
    if (!e)
        e = member_save(c, &tmp, user_id, g);
    if (!e)
        e = chan_sync_roster(c, &tmp, g);
    if (!e && home_hint)
        e = keydir_join_used(c, user_id, ref); /* auto-join: a published key package, kept a while */
    else if (!e)
        e = store_keypkg_delete(c->db, ref, sizeof ref);
    if (!e) {
        char key[160];
        snprintf(key, sizeof key, "left:%s:%s", id, user_id);
        e = chan_meta_put_u64(c, key, 0);
    }
    e = store_tx_end(c->db, e);
    if (e) {
        mls_group_free(g);
        chan_say(msg, msglen, "cannot store the channel");
        return e;
    }
    if (!ch && chan_get(c, id, &ch) != SP_OK) {
        mls_group_free(g);
        return SP_ERR_INTERNAL;
    }
    chan_add_member(ch, user_id, g);
    if (!ch->home[0] && home[0])
        snprintf(ch->home, sizeof ch->home, "%s", home);
    snprintf(channel_id, 65, "%s", id);
    chan_catch_up(c, ch);
    return SP_OK;
}

sp_err chat_join(chat_channels *c, const char *user_id, const chat_join_req *req, char *channel_id,
                 char *msg, size_t msglen)
{
    return chan_join_welcome(c, user_id, req, NULL, channel_id, msg, msglen);
}

