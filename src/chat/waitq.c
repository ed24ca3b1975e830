/* waitq.c — application messages that arrived before the commit of their epoch wait in the store
 * (outbox queue "a:<channel>", put there by delivery.c) until a local member reaches that epoch.
 *
 * A waiting row is removed only once the message it held is durable in the store (or is found
 * unreadable): it is handed to the receive path, the group commit is run, and only then is the
 * row deleted. A crash in between leaves the row, and reading it again is harmless: the reader's
 * saved state refuses a repeat and the message id is stored once. Rows whose epoch was reached
 * just before a crash are drained when the daemon starts again (waitq_resume). */
#include "chat/channels_int.h"

#include <inttypes.h>

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/outbox.h"
#include "store/profile_ids.h"
#include "store/spaces.h"

static uint64_t top_epoch(const chan *ch)
{
    uint64_t top = 0;
    for (const member *mb = ch->members; mb; mb = mb->next)
        if (mls_group_epoch(mb->g) > top)
            top = mls_group_epoch(mb->g);
    return top;
}

void waitq_drain(chat_channels *c, chan *ch)
{
    if (!ch->members)
        return;
    char q[80];
    queue_name(q, sizeof q, 'a', ch->id);
    int64_t after = 0;
    for (;;) {
        store_frame *v = NULL;
        size_t n = 0;
        if (store_outbox_list(c->db, q, after, CHAT_QUEUE_SCAN, &v, &n) != SP_OK)
            return;
        int64_t *done = calloc(n ? n : 1, sizeof *done);
        if (!done) {
            store_frames_free(v, n);
            return;
        }
        size_t k = 0;
        uint64_t top = top_epoch(ch);
        for (size_t i = 0; i < n; i++) {
            chat_app_msg m;
            after = v[i].id;
            if (chat_app_decode(v[i].payload, v[i].len, &m) != SP_OK || strcmp(m.channel_id, ch->id) != 0) {
                done[k++] = v[i].id;
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
            delivery_on_app(c, &nm, &m, 1);
            done[k++] = v[i].id;
            if (!ch->members)
                break; /* defensive: reading changes no membership today */
        }
        if (k && batch_flush(c) != SP_OK)
            k = 0; /* what those rows carried is not durable yet: they stay */
        if (k) {
            sp_err e = store_tx_begin(c->db);
            for (size_t i = 0; !e && i < k; i++) {
                e = store_outbox_remove(c->db, done[i]);
                if (e == SP_ERR_NOT_FOUND)
                    e = SP_OK;
            }
            if (store_tx_end(c->db, e) != SP_OK)
                SP_ERROR("chat: channel %.16s: cannot clear delivered waiting messages", ch->id);
        }
        free(done);
        store_frames_free(v, n);
        if (n < CHAT_QUEUE_SCAN || !ch->members)
            return;
    }
}

#define ORPHAN_KEEP_MS 60000
#define SWEEP_MAX 512 /* rows per sweep */

void waitq_add(chat_channels *c, const char *q, const net_msg *nm, const chat_app_msg *m, const char *why)
{
    int n = 0;
    sp_err e = store_outbox_count(c->db, q, (int)c->cfg.wait_max, &n);
    if (!e && n >= (int)c->cfg.wait_max) {
        /* a hostile or broken daemon can send well-framed messages for epochs that never come */
        if (c->wait_dropped++ % 1000 == 0)
            SP_WARN("chat: channel %.16s: %u messages already wait; one from %.16s (epoch %" PRIu64
                    ") is dropped (%lu so far)", m->channel_id, c->cfg.wait_max, nm->origin, m->epoch,
                    c->wait_dropped);
        return;
    }
    if (!e)
        e = store_outbox_add(c->db, q, nm->origin, nm->seq, CHAT_PT_APP, nm->payload.ptr, nm->payload.len, NULL);
    if (e)
        SP_WARN("chat: channel %.16s: cannot keep a message that waits %s: %s", m->channel_id, why, sp_strerror(e));
    else
        SP_DEBUG("chat: channel %.16s: a message of epoch %" PRIu64 " from %.16s waits %s", m->channel_id,
                 m->epoch, nm->origin, why);
}

void waitq_keep_orphan(chat_channels *c, const net_msg *nm, const chat_app_msg *m)
{
    char q[80];
    queue_name(q, sizeof q, 'a', m->channel_id);
    int64_t now = store_now_ms();
    int pruned = 0;
    store_outbox_prune(c->db, q, now - ORPHAN_KEEP_MS, 8, &pruned); /* a few per add: keeps up */
    if (pruned)
        SP_DEBUG("chat: channel %.16s: %d kept messages expired (no member of it joined here)", m->channel_id,
                 pruned);
    if (now - c->orphan_window >= ORPHAN_KEEP_MS) {
        c->orphan_window = now;
        c->orphans_kept = 0;
    }
    if (c->orphans_kept >= c->cfg.wait_max) {
        if (c->wait_dropped++ % 1000 == 0)
            SP_WARN("chat: %u messages for channels nobody here joined were kept this minute; one from %.16s "
                    "is dropped (%lu so far)", c->cfg.wait_max, nm->origin, c->wait_dropped);
        return;
    }
    c->orphans_kept++;
    waitq_add(c, q, nm, m, "for a member who may join");
}

void waitq_sweep(chat_channels *c)
{
    int removed = 0;
    if (store_outbox_prune_unknown_channels(c->db, "a:", store_now_ms() - ORPHAN_KEEP_MS, SWEEP_MAX, &removed) ==
            SP_OK &&
        removed)
        SP_DEBUG("chat: %d kept messages of channels nobody here joined expired", removed);
}

/* Drains the waiting queue of every channel our users can see that has one. */
void waitq_resume(chat_channels *c)
{
    char **ids = NULL;
    size_t n_ids = 0;
    if (store_profile_ids(c->db, &ids, &n_ids) != SP_OK)
        return;
    for (size_t u = 0; u < n_ids; u++) {
        store_space *sp = NULL;
        size_t n_sp = 0;
        if (store_space_list_for_user(c->db, ids[u], &sp, &n_sp) != SP_OK)
            continue;
        for (size_t s = 0; s < n_sp; s++) {
            store_channel *cv = NULL;
            size_t n_ch = 0;
            if (store_channel_list(c->db, sp[s].id, ids[u], &cv, &n_ch) != SP_OK)
                continue;
            for (size_t i = 0; i < n_ch; i++) {
                char q[80];
                store_frame *v = NULL;
                size_t k = 0;
                chan *ch;
                queue_name(q, sizeof q, 'a', cv[i].id);
                if (store_outbox_list(c->db, q, 0, 1, &v, &k) == SP_OK && k && chan_get(c, cv[i].id, &ch) == SP_OK)
                    waitq_drain(c, ch);
                store_frames_free(v, k);
            }
            store_channels_free(cv, n_ch);
        }
        store_spaces_free(sp, n_sp);
    }
    store_strv_free(ids, n_ids);
}
