/* pending.c — our own commits waiting for the home daemon's answer, kept in the store so that a
 * restarted daemon still follows (accepted) or rebuilds (rejected, or lost to another commit of
 * the same epoch) each of them.
 *
 * One row per commit operation proposed to another daemon, in the outbox queue "pend" (origin =
 * channel id, origin_seq = the epoch it was built in, type = the operation's kind). Its payload:
 *   u8 version (1) · u8 kind · u64 epoch · u64 request id · then u32-length-prefixed: user id,
 *   target user id, key package (MLSMessage, adds), the COMMIT_PROPOSE payload as sent, and our
 *   staged next state (mls_group_save: secret).
 * A row is replaced when the operation proposes again, and removed in the transaction that
 * applies the accepted commit, or when the operation ends otherwise. */
#include "chat/channels_int.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "base/rand.h"
#include "store/outbox.h"

#define PEND_QUEUE "pend"
#define PEND_VERSION 1
#define PEND_MAX_FIELD (16u << 20)

static sp_err put_bytes(sp_buf *b, const void *p, size_t n)
{
    sp_err e = sp_buf_put_u32(b, (uint32_t)n);
    if (!e && n)
        e = sp_buf_append(b, p, n);
    return e;
}

sp_err pend_put(chat_channels *c, chat_op *op, sp_slice proposal)
{
    sp_buf b;
    sp_buf_init(&b);
    sp_err e = sp_buf_put_u8(&b, PEND_VERSION);
    if (!e)
        e = sp_buf_put_u8(&b, (uint8_t)op->kind);
    if (!e)
        e = sp_buf_put_u64(&b, op->epoch);
    if (!e)
        e = sp_buf_put_u64(&b, op->request_id);
    if (!e)
        e = put_bytes(&b, op->user_id, strlen(op->user_id));
    if (!e)
        e = put_bytes(&b, op->target, strlen(op->target));
    if (!e)
        e = put_bytes(&b, op->kp.data, op->kp.len);
    if (!e)
        e = put_bytes(&b, proposal.ptr, proposal.len);
    size_t at = b.len;
    if (!e)
        e = sp_buf_put_u32(&b, 0);
    if (!e)
        e = mls_group_save(op->next_state, &b);
    if (!e) {
        uint32_t n = (uint32_t)(b.len - at - 4);
        for (int i = 0; i < 4; i++)
            b.data[at + i] = (uint8_t)(n >> (24 - 8 * i));
    }
    if (!e)
        e = store_tx_begin(c->db);
    if (e) {
        sp_buf_free_secret(&b);
        return e;
    }
    if (op->pend_row) {
        e = store_outbox_remove(c->db, op->pend_row);
        if (e == SP_ERR_NOT_FOUND)
            e = SP_OK;
    }
    int64_t row = 0;
    if (!e)
        e = store_outbox_add(c->db, PEND_QUEUE, op->ch->id, op->epoch, (uint32_t)op->kind, b.data, b.len, &row);
    e = store_tx_end(c->db, e);
    if (!e)
        op->pend_row = row;
    sp_buf_free_secret(&b);
    return e;
}

sp_err pend_remove(chat_channels *c, chat_op *op)
{
    if (!op->pend_row)
        return SP_OK;
    sp_err e = store_outbox_remove(c->db, op->pend_row);
    if (e == SP_ERR_NOT_FOUND)
        e = SP_OK;
    if (!e)
        op->pend_row = 0;
    return e;
}

sp_err pend_list(chat_channels *c, store_frame **v, size_t *n)
{
    return store_outbox_list(c->db, PEND_QUEUE, 0, CHAT_QUEUE_SCAN, v, n);
}

static sp_err read_bytes(sp_reader *r, sp_slice *out)
{
    uint32_t n;
    sp_err e = sp_read_u32(r, &n);
    if (!e && n > PEND_MAX_FIELD)
        e = SP_ERR_TOO_LARGE;
    if (!e)
        e = sp_read_slice(r, n, out);
    return e;
}

static sp_err read_id(sp_reader *r, char *out, size_t cap, int may_be_empty)
{
    sp_slice s;
    sp_err e = read_bytes(r, &s);
    if (e)
        return e;
    if (s.len >= cap || (!s.len && !may_be_empty))
        return SP_ERR_INVALID;
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return s.len && !sp_uuid_is_valid(out) ? SP_ERR_INVALID : SP_OK;
}

sp_err pend_decode(const store_frame *f, pend_rec *r)
{
    memset(r, 0, sizeof *r);
    if (!f->origin_peer || !chat_id_valid(f->origin_peer))
        return SP_ERR_INVALID;
    snprintf(r->channel_id, sizeof r->channel_id, "%s", f->origin_peer);
    r->row = f->id;
    sp_reader rd;
    sp_reader_init(&rd, f->payload, f->len);
    uint8_t version, kind;
    sp_err e = sp_read_u8(&rd, &version);
    if (!e && version != PEND_VERSION)
        e = SP_ERR_UNSUPPORTED;
    if (!e)
        e = sp_read_u8(&rd, &kind);
    if (!e && kind != OP_INVITE && kind != OP_ADD && kind != OP_REMOVE)
        e = SP_ERR_INVALID;
    r->kind = kind;
    if (!e)
        e = sp_read_u64(&rd, &r->epoch);
    if (!e)
        e = sp_read_u64(&rd, &r->request_id);
    if (!e)
        e = read_id(&rd, r->user_id, sizeof r->user_id, 0);
    if (!e)
        e = read_id(&rd, r->target, sizeof r->target, 1);
    if (!e)
        e = read_bytes(&rd, &r->kp);
    if (!e)
        e = read_bytes(&rd, &r->proposal);
    if (!e)
        e = read_bytes(&rd, &r->state);
    if (!e && sp_reader_left(&rd) != 0)
        e = SP_ERR_INVALID;
    return e;
}
