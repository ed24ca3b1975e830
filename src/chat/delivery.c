/* delivery.c — application messages: sending (protect, store with the advanced state, broadcast),
 * receiving (decrypt once per daemon, store with the advanced state, wait for a future epoch),
 * reading history, and live subscriptions (StreamMessages). */
#include "chat/channels_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include <event2/event.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "store/outbox.h"
#include "store/spaces.h"
#include "store/syncer.h"

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

/* ---- the group commit ------------------------------------------------------------------------ */

static void op_free(chat_send_op *p)
{
    store_message_clear(&p->m);
    sp_buf_free(&p->wire);
    free(p);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    batch_flush(arg);
}

/* ---- when the group commit runs ----------------------------------------------------------------
 * Two kinds of deadline. A hard one only ever moves earlier: received messages are stored within
 * recv_commit_ms, a send that did not leave at once is committed at once, a failed commit is tried
 * again in CHAT_STORE_RETRY_MS. Sends that left early are committed once no other send came for a
 * third of send_commit_ms, and at most send_commit_ms after the first of them: a lone send is
 * answered after a few ms, a steady stream shares one commit (and one fsync) per window. */

static void batch_rearm(chat_channels *c, uint64_t now)
{
    uint64_t due = c->hard_due;
    if (c->send_due && (!due || c->send_due < due))
        due = c->send_due;
    uint64_t ms = due > now ? due - now : 0;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->flush_ev, &tv);
}

/* The group commit runs in ms at the latest (sooner if it was already due sooner). */
static void batch_arm(chat_channels *c, unsigned ms)
{
    uint64_t now = sp_monotonic_ms();
    if (!c->hard_due || now + ms < c->hard_due)
        c->hard_due = now + ms;
    batch_rearm(c, now);
}

/* A send that left early joined the batch. */
static void batch_arm_send(chat_channels *c)
{
    uint64_t now = sp_monotonic_ms();
    unsigned window = c->cfg.send_commit_ms, quiet = window / 3 ? window / 3 : 1;
    if (!c->send_first)
        c->send_first = now;
    c->send_due = now + quiet < c->send_first + window ? now + quiet : c->send_first + window;
    batch_rearm(c, now);
}

/* The batch was taken (or dropped): no deadline is left. */
static void batch_disarm(chat_channels *c)
{
    c->hard_due = c->send_due = c->send_first = 0;
    if (c->flush_ev)
        evtimer_del(c->flush_ev);
}

static sp_err batch_add(chat_channels *c, chat_send_op *p)
{
    if (!c->flush_ev && !(c->flush_ev = evtimer_new(c->base, on_flush, c)))
        return SP_ERR_NOMEM;
    if (!c->batch_tail)
        c->batch_tail = &c->batch;
    p->next = NULL;
    *c->batch_tail = p;
    c->batch_tail = &p->next;
    /* A send that does not leave early is committed by a zero timer, which runs after the I/O of
     * this loop turn: the sends read in it share one commit. A received message was already
     * streamed; it is committed by net's deferred log commit (net_store.c), or by this timer at
     * the same delay if that does not come first (the message did not arrive through a read). */
    if (p->sent_early)
        batch_arm_send(c);
    else
        batch_arm(c, p->is_send ? 0 : c->cfg.recv_commit_ms);
    return SP_OK;
}

/* Pushes a finished group commit's own sends to streams and answers every op; frees them. */
static void finish_ops(chat_channels *c, chat_send_op *list, sp_err e)
{
    while (list) {
        chat_send_op *p = list;
        list = p->next;
        c->early_sends -= (size_t)p->sent_early;
        if (!e && !p->dup && !p->streamed)
            streams_push(p->ch, &p->m);
        if (p->cb)
            p->cb(p->arg, e, e ? NULL : &p->m);
        op_free(p);
    }
}

static void free_list(chat_send_op *p)
{
    while (p) {
        chat_send_op *n = p->next;
        op_free(p);
        p = n;
    }
}

void batch_discard(chat_channels *c)
{
    for (chat_send_op *p = c->batch; p; p = p->next)
        if (p->sent_early)
            c->sync_failed = 1; /* its frame left, its commit never came: the next start skips */
    free_list(c->batch);
    c->batch = NULL;
    c->batch_tail = &c->batch;
    batch_disarm(c);
    if (c->flush_ev)
        event_free(c->flush_ev);
    c->flush_ev = NULL;
    /* Early batches waiting for their fsync: the syncer makes what it was asked durable before it
     * stops. Their calls were cancelled with the server; an fsync that failed keeps the stop from
     * counting as clean. */
    if (c->syncer) {
        if (store_syncer_stop(c->syncer) != SP_OK)
            c->sync_failed = 1;
        c->syncer = NULL;
        event_free(c->sync_ev);
        c->sync_ev = NULL;
    }
    free_list(c->unsynced);
    c->unsynced = NULL;
    c->unsynced_tail = &c->unsynced;
    c->early_sends = 0;
}

/* ---- the fsync of early batches, on the syncer's thread ---------------------------------------- */

/* The syncer finished one or more fsyncs: answers the early batches they cover, in order. */
static void on_synced(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chat_channels *c = arg;
    uint64_t synced = 0;
    sp_err e = store_syncer_done(c->syncer, &synced);
    if (e)
        c->sync_failed = 1; /* their frames left: the next start must skip ahead */
    chat_send_op *done = NULL, **tail = &done;
    while (c->unsynced && c->unsynced->ticket <= synced) {
        chat_send_op *p = c->unsynced;
        c->unsynced = p->next;
        p->next = NULL;
        *tail = p;
        tail = &p->next;
    }
    if (!c->unsynced)
        c->unsynced_tail = &c->unsynced;
    finish_ops(c, done, e);
}

/* Starts the syncer on first use; 0 when it cannot run (the caller syncs on this thread). */
static int syncer_ready(chat_channels *c)
{
    if (c->syncer)
        return 1;
    if (store_syncer_start(c->db, &c->syncer) != SP_OK)
        return 0;
    c->sync_ev = event_new(c->base, store_syncer_fd(c->syncer), EV_READ | EV_PERSIST, on_synced, c);
    if (!c->sync_ev || event_add(c->sync_ev, NULL) != 0) {
        if (c->sync_ev)
            event_free(c->sync_ev);
        c->sync_ev = NULL;
        store_syncer_stop(c->syncer);
        c->syncer = NULL;
        return 0;
    }
    c->unsynced_tail = &c->unsynced;
    return 1;
}

/* The batch's own sends, now durable, go to the network with one net log commit (not one each). */
static void broadcast_sends(chat_channels *c, chat_send_op *list)
{
    size_t n = 0, done = 0;
    for (chat_send_op *p = list; p; p = p->next)
        n += p->is_send && !p->sent_early;
    if (!n)
        return;
    sp_slice one, *v = n == 1 ? &one : calloc(n, sizeof *v);
    chat_send_op **who = n == 1 ? NULL : calloc(n, sizeof *who);
    if (n > 1 && (!v || !who)) {
        free(v);
        free(who);
        v = &one; /* out of memory: one at a time */
        n = 1;
    }
    for (chat_send_op *p = list; p;) {
        size_t k = 0;
        chat_send_op *first = NULL;
        for (; p && k < n; p = p->next)
            if (p->is_send && !p->sent_early) {
                if (!first)
                    first = p;
                if (who)
                    who[k] = p;
                v[k++] = sp_buf_slice(&p->wire);
            }
        if (!k)
            break;
        uint64_t seq = 0;
        done = 0;
        sp_err be = net_node_broadcast_many(c->node, CHAT_PT_APP, v, k, &seq, &done);
        if (!be)
            done = k;
        for (size_t i = 0; i < k; i++) {
            chat_send_op *q = who ? who[i] : first;
            if (i < done)
                q->m.origin_seq = (int64_t)(seq + i);
            else if (c->batch_tx || !c->batch_tx_result) /* (a failed commit: batch_flush says so) */
                SP_ERROR("chat: channel %.16s: message %s stored but not queued for fan-out: %s", q->ch->id,
                         q->m.id, sp_strerror(be));
        }
    }
    if (v != &one)
        free(v);
    free(who);
}

sp_err batch_commit_now(chat_channels *c)
{
    if (!c->batch_tx)
        return SP_OK; /* nothing open: what net wrote was committed as it went */
    c->batch_tx = 0;
    c->batch_tx_result = store_tx_end(c->db, SP_OK);
    return c->batch_tx_result;
}

/* A group commit failed: unless it has been failing for cfg.store_retry_ms, it goes back to the
 * head of the queue, to be written again in CHAT_STORE_RETRY_MS with what arrives meanwhile. The
 * states stay as they are in memory (ahead of the store, as the frames sent early and the
 * messages already streamed are); its ops are answered once it is written. Returns 0 to give up. */
static int batch_retry(chat_channels *c, chat_send_op *list, sp_err e)
{
    uint64_t now = sp_monotonic_ms();
    if (!c->retry_since)
        c->retry_since = now;
    if (now - c->retry_since >= c->cfg.store_retry_ms)
        return 0;
    SP_WARN("chat: cannot store %s messages: %s; trying again in %d ms",
            list->next ? "a batch of" : "one of the", sp_strerror(e), CHAT_STORE_RETRY_MS);
    chat_send_op *last = list;
    for (chat_send_op *p = list; p; p = p->next) {
        p->dup = 0;
        last = p;
    }
    last->next = c->batch;
    if (!c->batch)
        c->batch_tail = &last->next;
    c->batch = list;
    batch_arm(c, CHAT_STORE_RETRY_MS);
    return 1;
}

sp_err batch_flush(chat_channels *c)
{
    chat_send_op *list = c->batch;
    if (!list)
        return SP_OK;
    c->batch = NULL;
    c->batch_tail = &c->batch;
    batch_disarm(c);

    /* A batch of received messages only is committed without an fsync (still safe from a crash
     * of the daemon): after a power loss, what it lost is missing from net's log too (committed
     * after this, also without one), so catch-up brings the frames again from their origin, which
     * fsynced them before they left. A later fsynced commit (a send) covers it anyway.
     * Sends that left early (chat_send) are committed the same way, their frames logged with them,
     * and fsynced on the syncer's thread before they are answered; sends that did not (more than
     * CHAT_EARLY_SENDS were waiting) need an fsynced commit before their frames leave. */
    int late = 0, early = 0;
    for (chat_send_op *p = list; p; p = p->next) {
        late += p->is_send && !p->sent_early;
        early += p->sent_early;
    }
    if (!late)
        store_set_durable(c->db, 0);
    sp_err e = store_tx_begin(c->db);
    c->batch_tx = !e;
    c->batch_tx_result = SP_OK;
    for (chat_send_op *p = list; !e && p; p = p->next) {
        e = store_message_put(c->db, &p->m);
        if (e == SP_ERR_EXISTS) {
            p->dup = 1;
            e = SP_OK;
        }
    }
    /* each advanced state once, as it is now */
    for (chat_send_op *p = list; !e && p; p = p->next) {
        int later = 0;
        for (chat_send_op *q = p->next; q && !later; q = q->next)
            later = q->ch == p->ch && strcmp(q->user_id, p->user_id) == 0;
        member *mb = chan_member(p->ch, p->user_id);
        if (!later && mb)
            e = member_save(c, p->ch, p->user_id, mb->g);
    }
    /* The frames join this transaction (chat/net_store.c keeps own frames in the store): those
     * sent early are appended now; for the others net appends them and commits the transaction
     * through batch_commit_now before it relays them. */
    if (!e && c->node && net_node_early_count(c->node))
        e = net_node_log_early(c->node);
    if (!e && c->node)
        broadcast_sends(c, list);
    if (c->batch_tx)
        e = store_tx_end(c->db, e);
    else if (!e)
        e = c->batch_tx_result; /* committed by batch_commit_now (else: the begin failed) */
    c->batch_tx = 0;
    if (c->node)
        net_node_early_logged(c->node, !e);
    if (!late)
        store_set_durable(c->db, 1);
    if (e && batch_retry(c, list, e))
        return e;
    c->retry_since = 0;
    if (e) {
        SP_ERROR("chat: cannot store %s messages: %s", list->next ? "a batch of" : "one of the", sp_strerror(e));
        for (chat_send_op *p = list; p; p = p->next) {
            if (p->sent_early) {
                /* its frame left with a generation the stored state has not used: skip past */
                p->ch->must_skip = 1;
                c->sync_failed = 1;
            }
            chan_reload(c, p->ch); /* the states advanced in memory only */
        }
    }
    if (early && !e && !late) {
        /* answered once the fsync is done: on the syncer's thread, so the next sends are read,
         * encrypted and relayed meanwhile */
        if (syncer_ready(c)) {
            uint64_t ticket = store_syncer_request(c->syncer);
            for (chat_send_op *p = list; p; p = p->next)
                p->ticket = ticket;
            *c->unsynced_tail = list;
            while (*c->unsynced_tail)
                c->unsynced_tail = &(*c->unsynced_tail)->next;
            return SP_OK;
        }
        if ((e = store_sync(c->db)) != SP_OK)
            c->sync_failed = 1; /* the frames left: the next start must skip ahead */
    }
    finish_ops(c, list, e);
    return e;
}

/* ---- sending -------------------------------------------------------------------------------- */

void chat_send_cancel(chat_send_op *op)
{
    if (op)
        op->cb = NULL;
}

sp_err chat_send(chat_channels *c, const char *user_id, const char *channel_id, const char *content,
                 chat_send_cb cb, void *arg, chat_send_op **op)
{
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
    chat_send_op *p = calloc(1, sizeof *p);
    if (!p)
        return SP_ERR_NOMEM;
    sp_buf_init(&p->wire);
    chat_app_plain pl;
    memset(&pl, 0, sizeof pl);
    if ((e = sp_uuid_v4(pl.message_id))) {
        op_free(p);
        return e;
    }
    pl.timestamp = store_now_ms();
    pl.content.ptr = (const uint8_t *)content;
    pl.content.len = clen;
    sp_buf pt, ct;
    sp_buf_init(&pt);
    sp_buf_init(&ct);
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
        e = chat_app_encode(&am, &p->wire);
    sp_buf_free(&ct);
    p->ch = ch;
    p->is_send = 1;
    snprintf(p->user_id, sizeof p->user_id, "%s", user_id);
    snprintf(p->m.id, sizeof p->m.id, "%s", pl.message_id);
    snprintf(p->m.channel_id, sizeof p->m.channel_id, "%s", channel_id);
    p->m.timestamp = pl.timestamp;
    p->cb = cb;
    p->arg = arg;
    if (!e && (!(p->m.sender_id = strdup(user_id)) || !(p->m.content = strdup(content)) ||
               (c->self[0] && !(p->m.origin_peer = strdup(c->self)))))
        e = SP_ERR_NOMEM;
    int go_early = c->node && !c->no_early && c->early_sends < CHAT_EARLY_SENDS &&
                   net_node_early_count(c->node) < CHAT_EARLY_SENDS;
    p->sent_early = go_early; /* (for batch_add's delay; confirmed below) */
    if (!e)
        e = batch_add(c, p);
    if (e) {
        op_free(p);
        if (mls_group_epoch(mb->g) == epoch)
            chan_reload(c, ch); /* the ratchet may have moved without its message */
        return e;
    }
    /* The frame leaves with this loop turn's writes, ahead of its commit (the group commit that
     * follows): a crash in between loses the commit but cannot make us encrypt twice with the same
     * key and nonce, nor reuse a frame number, as the next start skips past both; so only while
     * few sends are in that state (CHAT_EARLY_SENDS, channels_int.h). Else it leaves once its
     * commit is on stable storage. */
    if (go_early) {
        uint64_t seq = 0;
        if (net_node_send_early(c->node, CHAT_PT_APP, p->wire.data, p->wire.len, &seq) == SP_OK) {
            p->m.origin_seq = (int64_t)seq;
            c->early_sends++;
        } else {
            p->sent_early = 0;
            batch_arm(c, 0);
        }
    }
    if (op)
        *op = p;
    return SP_OK;
}

/* ---- receiving -------------------------------------------------------------------------------- */

static void queue_future(chat_channels *c, const net_msg *nm, const chat_app_msg *m)
{
    char q[80];
    queue_name(q, sizeof q, 'a', m->channel_id);
    waitq_add(c, q, nm, m, "for its commit");
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
    chat_send_op *p = NULL;
    if (!e && !(p = calloc(1, sizeof *p)))
        e = SP_ERR_NOMEM;
    if (!e) {
        sp_buf_init(&p->wire);
        p->ch = ch;
        snprintf(p->user_id, sizeof p->user_id, "%s", reader->user_id);
        snprintf(p->m.id, sizeof p->m.id, "%s", pl.message_id);
        snprintf(p->m.channel_id, sizeof p->m.channel_id, "%s", m->channel_id);
        p->m.timestamp = pl.timestamp;
        p->m.origin_seq = (int64_t)nm->seq;
        if (!(p->m.sender_id = strdup(sender_id)) || !(p->m.content = strndup((const char *)pl.content.ptr, pl.content.len)) ||
            !(p->m.origin_peer = strdup(nm->origin)))
            e = SP_ERR_NOMEM;
    }
    /* Stored, with the reader's advanced state, by the group commit that follows this reactor turn
     * (net's deferred log commit). Streams get it now, before that commit's fsync: if the daemon
     * dies first, neither the message nor net's record of its frame is durable, so catch-up brings
     * the frame again and it is read and stored then (docs/chat.md, "Receive"). */
    if (!e)
        e = batch_add(c, p);
    if (!e) {
        streams_push(ch, &p->m);
        p->streamed = 1;
    }
    if (e) {
        if (p)
            op_free(p);
        SP_WARN("chat: channel %.16s: message from %.16s dropped: %s", m->channel_id, nm->origin, sp_strerror(e));
    }
    if (pt.data)
        OPENSSL_cleanse(pt.data, pt.len);
    sp_buf_free_secret(&pt);
    sp_buf_free(&sender);
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
