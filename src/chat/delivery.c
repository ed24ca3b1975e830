/* delivery.c — application messages: sending (protect, store with the advanced state, broadcast),
 * receiving (decrypt once per daemon, store with the advanced state, wait for a future epoch),
 * reading history, and live subscriptions (StreamMessages). */
#include "chat/channels_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "base/log.h"
#include "base/rand.h"
#include "store/frames.h"
#include "store/spaces.h"

#define GET_DEFAULT 50
#define GET_MAX 500

/* ---- streams ------------------------------------------------------------------------------ */

void streams_push(chan *ch, const store_message *m)
{
    for (chat_sub *s = ch->subs, *next; s; s = next) {
        next = s->next;
        s->fn(s->arg, m);
    }
}

static void sub_unlink(chat_sub *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->ch->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

void streams_end_user(chan *ch, const char *user_id)
{
    for (chat_sub *s = ch->subs, *next; s; s = next) {
        next = s->next;
        if (strcmp(s->user_id, user_id) != 0)
            continue;
        sub_unlink(s);
        s->fn(s->arg, NULL);
        free(s);
    }
}

sp_err chat_subscribe(chat_channels *c, const char *user_id, const char *channel_id, chat_sub_fn fn,
                      void *arg, chat_sub **out)
{
    if (!chat_id_valid(channel_id))
        return SP_ERR_INVALID;
    chan *ch;
    sp_err e = chan_get(c, channel_id, &ch);
    if (e)
        return e;
    if (!chan_member(ch, user_id))
        return SP_ERR_PERMISSION;
    chat_sub *s = calloc(1, sizeof *s);
    if (!s)
        return SP_ERR_NOMEM;
    s->ch = ch;
    snprintf(s->user_id, sizeof s->user_id, "%s", user_id);
    s->fn = fn;
    s->arg = arg;
    s->next = ch->subs;
    if (ch->subs)
        ch->subs->prev = s;
    ch->subs = s;
    *out = s;
    return SP_OK;
}

void chat_unsubscribe(chat_sub *s)
{
    if (!s)
        return;
    sub_unlink(s);
    free(s);
}

/* ---- sending -------------------------------------------------------------------------------- */

sp_err chat_send(chat_channels *c, const char *user_id, const char *channel_id, const char *content,
                 store_message *out)
{
    memset(out, 0, sizeof *out);
    if (!chat_id_valid(channel_id))
        return SP_ERR_INVALID;
    size_t clen = strlen(content);
    if (clen == 0 || clen > CHAT_CONTENT_MAX)
        return SP_ERR_INVALID;
    chan *ch;
    sp_err e = chan_get(c, channel_id, &ch);
    if (e)
        return e;
    member *mb = chan_member(ch, user_id);
    if (!mb)
        return SP_ERR_PERMISSION;

    chat_app_plain pl;
    memset(&pl, 0, sizeof pl);
    if ((e = sp_uuid_v4(pl.message_id)))
        return e;
    pl.timestamp = store_now_ms();
    pl.content.ptr = (const uint8_t *)content;
    pl.content.len = clen;
    sp_buf pt, ct, wire;
    sp_buf_init(&pt);
    sp_buf_init(&ct);
    sp_buf_init(&wire);
    e = chat_plain_encode(&pl, &pt);
    uint64_t epoch = mls_group_epoch(mb->g);
    if (!e)
        e = mls_group_protect(mb->g, pt.data, pt.len, NULL, 0, &ct);
    sp_buf_free_secret(&pt);
    chat_app_msg am;
    memset(&am, 0, sizeof am);
    snprintf(am.channel_id, sizeof am.channel_id, "%s", channel_id);
    am.epoch = epoch;
    am.message = sp_buf_slice(&ct);
    if (!e)
        e = chat_app_encode(&am, &wire);
    if (e) {
        sp_buf_free(&ct);
        sp_buf_free(&wire);
        return e;
    }

    /* Stored with the advanced ratchet before anything leaves: a crash can then lose the send, but
     * never make us encrypt twice with the same key and nonce. */
    snprintf(out->id, sizeof out->id, "%s", pl.message_id);
    snprintf(out->channel_id, sizeof out->channel_id, "%s", channel_id);
    out->sender_id = strdup(user_id);
    out->content = strdup(content);
    out->timestamp = pl.timestamp;
    out->origin_peer = c->self[0] ? strdup(c->self) : NULL;
    if (!out->sender_id || !out->content) {
        store_message_clear(out);
        sp_buf_free(&ct);
        sp_buf_free(&wire);
        chan_reload(c, ch);
        return SP_ERR_NOMEM;
    }
    e = store_tx_begin(c->db);
    if (!e)
        e = store_message_put(c->db, out);
    if (!e)
        e = member_save(c, ch, user_id, mb->g);
    e = store_tx_end(c->db, e);
    if (e) {
        store_message_clear(out);
        sp_buf_free(&ct);
        sp_buf_free(&wire);
        chan_reload(c, ch);
        return e;
    }
    if (c->node) {
        uint64_t seq = 0;
        sp_err be = net_node_broadcast(c->node, CHAT_PT_APP, wire.data, wire.len, &seq);
        if (be)
            SP_ERROR("chat: channel %.16s: message %s stored but not queued for fan-out: %s", channel_id,
                     out->id, sp_strerror(be));
        out->origin_seq = (int64_t)seq;
        if (be)
            e = be;
    }
    sp_buf_free(&ct);
    sp_buf_free(&wire);
    streams_push(ch, out);
    if (e)
        store_message_clear(out);
    return e;
}

/* ---- receiving -------------------------------------------------------------------------------- */

static void queue_future(chat_channels *c, const net_msg *nm, const chat_app_msg *m)
{
    char q[80];
    queue_name(q, sizeof q, 'a', m->channel_id);
    sp_err e = store_outbox_add(c->db, q, nm->origin, nm->seq, CHAT_PT_APP, nm->payload.ptr,
                                nm->payload.len, NULL);
    if (e)
        SP_ERROR("chat: channel %.16s: cannot keep a message for epoch %" PRIu64 ": %s", m->channel_id,
                 m->epoch, sp_strerror(e));
}

void delivery_on_app(chat_channels *c, const net_msg *nm, const chat_app_msg *m, int from_queue)
{
    chan *ch;
    if (chan_get(c, m->channel_id, &ch) != SP_OK || !ch->members)
        return; /* no member here: nothing of it is stored */
    uint64_t top = 0;
    member *reader = NULL;
    sp_buf pt, sender;
    sp_buf_init(&pt);
    sp_buf_init(&sender);
    sp_err last = SP_ERR_STATE;
    for (member *mb = ch->members; mb; mb = mb->next) {
        uint64_t ep = mls_group_epoch(mb->g);
        if (ep > top)
            top = ep;
        if (ep < m->epoch)
            continue;
        sp_buf_reset(&pt);
        sp_buf_reset(&sender);
        last = mls_group_unprotect(mb->g, m->message.ptr, m->message.len, &pt, NULL, &sender);
        if (last == SP_OK) {
            reader = mb;
            break;
        }
        if (last == SP_ERR_EXISTS)
            break; /* already read: a repeat */
    }
    if (!reader) {
        if (last != SP_ERR_EXISTS && m->epoch > top && !from_queue)
            queue_future(c, nm, m);
        else if (last != SP_ERR_EXISTS)
            SP_WARN("chat: channel %.16s: message of epoch %" PRIu64 " from %.16s cannot be read: %s",
                    m->channel_id, m->epoch, nm->origin, sp_strerror(last));
        sp_buf_free_secret(&pt);
        sp_buf_free(&sender);
        return;
    }
    chat_app_plain pl;
    char sender_id[37];
    sp_err e = chat_plain_decode(pt.data, pt.len, &pl);
    if (!e && sender.len == 36) {
        memcpy(sender_id, sender.data, 36);
        sender_id[36] = '\0';
        if (!sp_uuid_is_valid(sender_id))
            e = SP_ERR_INVALID;
    } else if (!e) {
        e = SP_ERR_INVALID;
    }
    store_message sm;
    memset(&sm, 0, sizeof sm);
    if (!e) {
        snprintf(sm.id, sizeof sm.id, "%s", pl.message_id);
        snprintf(sm.channel_id, sizeof sm.channel_id, "%s", m->channel_id);
        sm.sender_id = sender_id;
        sm.content = strndup((const char *)pl.content.ptr, pl.content.len);
        sm.timestamp = pl.timestamp;
        sm.origin_peer = (char *)nm->origin;
        sm.origin_seq = (int64_t)nm->seq;
        if (!sm.content)
            e = SP_ERR_NOMEM;
    }
    int is_new = 0;
    if (!e) {
        e = store_tx_begin(c->db);
        if (!e) {
            e = store_message_put(c->db, &sm);
            is_new = e == SP_OK;
            if (e == SP_ERR_EXISTS)
                e = SP_OK;
        }
        if (!e)
            e = member_save(c, ch, reader->user_id, reader->g);
        e = store_tx_end(c->db, e);
        if (e)
            chan_reload(c, ch);
    }
    if (e) {
        SP_WARN("chat: channel %.16s: message from %.16s dropped: %s", m->channel_id, nm->origin, sp_strerror(e));
    } else if (is_new) {
        streams_push(ch, &sm);
    }
    if (pt.data)
        OPENSSL_cleanse(pt.data, pt.len);
    free(sm.content);
    sp_buf_free_secret(&pt);
    sp_buf_free(&sender);
}

void delivery_drain(chat_channels *c, chan *ch)
{
    if (!ch->members)
        return;
    uint64_t top = 0;
    for (member *mb = ch->members; mb; mb = mb->next)
        if (mls_group_epoch(mb->g) > top)
            top = mls_group_epoch(mb->g);
    char q[80];
    queue_name(q, sizeof q, 'a', ch->id);
    int64_t after = 0;
    for (;;) {
        store_frame *v = NULL;
        size_t n = 0;
        if (store_outbox_list(c->db, q, after, CHAT_QUEUE_SCAN, &v, &n) != SP_OK)
            return;
        for (size_t i = 0; i < n; i++) {
            chat_app_msg m;
            after = v[i].id;
            if (chat_app_decode(v[i].payload, v[i].len, &m) != SP_OK) {
                store_outbox_remove(c->db, v[i].id);
                continue;
            }
            if (m.epoch > top)
                continue;
            net_msg nm;
            memset(&nm, 0, sizeof nm);
            nm.origin = v[i].origin_peer;
            nm.seq = v[i].origin_seq;
            nm.ptype = CHAT_PT_APP;
            nm.payload.ptr = v[i].payload;
            nm.payload.len = v[i].len;
            store_outbox_remove(c->db, v[i].id);
            delivery_on_app(c, &nm, &m, 1);
        }
        store_frames_free(v, n);
        if (n < CHAT_QUEUE_SCAN)
            return;
    }
}

/* ---- history ---------------------------------------------------------------------------------- */

sp_err chat_messages(chat_channels *c, const char *user_id, const char *channel_id, int limit,
                     const char *before, store_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!chat_id_valid(channel_id) || limit < 0 || (before && before[0] && !sp_uuid_is_valid(before)))
        return SP_ERR_INVALID;
    if (limit == 0)
        limit = GET_DEFAULT;
    if (limit > GET_MAX)
        limit = GET_MAX;
    chan *ch;
    sp_err e = chan_get(c, channel_id, &ch);
    if (e)
        return e;
    if (chan_member(ch, user_id))
        return store_messages_before(c->db, channel_id, before, limit, out, n);
    int64_t left = chan_left_seq(c, channel_id, user_id);
    if (left <= 0)
        return SP_ERR_PERMISSION;
    /* A removed member sees what was stored up to their removal (seq < left). */
    int64_t cutoff = left - 1;
    store_message anchor;
    memset(&anchor, 0, sizeof anchor);
    if (before && before[0]) {
        if ((e = store_message_get(c->db, before, &anchor)))
            return e;
        if (strcmp(anchor.channel_id, channel_id) != 0) {
            store_message_clear(&anchor);
            return SP_ERR_NOT_FOUND;
        }
        if (anchor.seq <= cutoff + 1) {
            store_message_clear(&anchor);
            return store_messages_before(c->db, channel_id, before, limit, out, n);
        }
        store_message_clear(&anchor);
    }
    if (cutoff <= 0)
        return SP_OK;
    store_message *v = NULL;
    size_t k = 0;
    if ((e = store_messages_after(c->db, channel_id, cutoff - 1, 1, &v, &k)))
        return e;
    if (k == 0 || v[0].seq != cutoff) {
        store_messages_free(v, k);
        return SP_OK;
    }
    store_message *older = NULL;
    size_t m = 0;
    if (limit > 1 && (e = store_messages_before(c->db, channel_id, v[0].id, limit - 1, &older, &m))) {
        store_messages_free(v, k);
        return e;
    }
    store_message *all = realloc(older, (m + 1) * sizeof *all);
    if (!all) {
        store_messages_free(older, m);
        store_messages_free(v, k);
        return SP_ERR_NOMEM;
    }
    all[m] = v[0];
    free(v);
    *out = all;
    *n = m + 1;
    return SP_OK;
}
