/* protocol.c — encodings of the chat layer's daemon-to-daemon payloads (see protocol.h). */
#include "chat/protocol.h"

#include <string.h>
#include "base/hex.h"
#include "base/rand.h"

#define NAME_MAX_BYTES 1000
#define MLS_BYTES_MAX (1u << 20)

/* ---- writing ---------------------------------------------------------------------------- */

static sp_err put_bytes(sp_buf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return SP_ERR_TOO_LARGE;
    sp_err e = sp_buf_put_u32(b, (uint32_t)n);
    return e ? e : sp_buf_append(b, p, n);
}

static sp_err put_slice(sp_buf *b, sp_slice s)
{
    return put_bytes(b, s.ptr, s.len);
}

/* A fixed-shape id: 64 lowercase hex (or "" when empty_ok). */
static sp_err put_hexid(sp_buf *b, const char *id, int empty_ok)
{
    size_t n = strlen(id);
    if (!(n == 0 && empty_ok) && !(n == CHAT_ID_HEX && sp_hex_is_lower(id, 32)))
        return SP_ERR_INVALID;
    return put_bytes(b, id, n);
}

static sp_err put_uuid(sp_buf *b, const char *id, int empty_ok)
{
    size_t n = strlen(id);
    if (!(n == 0 && empty_ok) && !sp_uuid_is_valid(id))
        return SP_ERR_INVALID;
    return put_bytes(b, id, n);
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        sp_err e_ = (x);                                                                           \
        if (e_)                                                                                    \
            return e_;                                                                             \
    } while (0)

sp_err chat_kp_encode(const chat_kp_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_uuid(out, m->user_id, 0));
    TRY(put_hexid(out, m->peer_id, 0));
    TRY(put_slice(out, m->username));
    return put_slice(out, m->key_package);
}

sp_err chat_commit_encode(const chat_commit_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_hexid(out, m->channel_id, 0));
    TRY(sp_buf_put_u64(out, m->epoch));
    TRY(put_hexid(out, m->proposer, 0));
    TRY(sp_buf_put_u64(out, m->request_id));
    TRY(put_slice(out, m->commit));
    TRY(sp_buf_put_u8(out, m->auto_join ? 1 : 0));
    TRY(put_uuid(out, m->joiner, 1));
    TRY(put_slice(out, m->welcome));
    TRY(put_slice(out, m->ratchet_tree));
    TRY(put_hexid(out, m->space_id, 1));
    TRY(put_slice(out, m->space_name));
    return put_slice(out, m->channel_name);
}

sp_err chat_reject_encode(const chat_reject_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_hexid(out, m->channel_id, 0));
    TRY(sp_buf_put_u64(out, m->epoch));
    TRY(sp_buf_put_u64(out, m->request_id));
    TRY(sp_buf_put_u64(out, m->current_epoch));
    return put_slice(out, m->reason);
}

sp_err chat_app_encode(const chat_app_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_hexid(out, m->channel_id, 0));
    TRY(sp_buf_put_u64(out, m->epoch));
    return put_slice(out, m->message);
}

sp_err chat_epoch_encode(const chat_epoch_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_hexid(out, m->channel_id, 0));
    TRY(sp_buf_put_u64(out, m->epoch));
    return put_slice(out, m->authenticator);
}

sp_err chat_plain_encode(const chat_app_plain *m, sp_buf *out)
{
    if (m->content.len > CHAT_CONTENT_MAX || m->timestamp < 0)
        return SP_ERR_INVALID;
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_uuid(out, m->message_id, 0));
    TRY(sp_buf_put_u64(out, (uint64_t)m->timestamp));
    return put_slice(out, m->content);
}

sp_err chat_facts_encode(const chat_facts *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_hexid(out, m->home_peer, 1));
    TRY(put_hexid(out, m->space_id, 0));
    TRY(put_slice(out, m->space_name));
    return put_slice(out, m->channel_name);
}

sp_err chat_kp_used_encode(const chat_kp_used_msg *m, sp_buf *out)
{
    TRY(sp_buf_put_u8(out, CHAT_PROTO_VERSION));
    TRY(put_uuid(out, m->user_id, 0));
    return put_bytes(out, m->ref, sizeof m->ref);
}

/* ---- reading ---------------------------------------------------------------------------- */

static sp_err get_bytes(sp_reader *r, size_t max, sp_slice *out)
{
    uint32_t n;
    TRY(sp_read_u32(r, &n));
    if (n > max)
        return SP_ERR_TOO_LARGE;
    return sp_read_slice(r, n, out);
}

static sp_err get_text(sp_reader *r, size_t max, sp_slice *out)
{
    TRY(get_bytes(r, max, out));
    if (out->len && memchr(out->ptr, 0, out->len))
        return SP_ERR_INVALID;
    return SP_OK;
}

static sp_err get_hexid(sp_reader *r, char out[CHAT_ID_HEX + 1], int empty_ok)
{
    sp_slice s;
    TRY(get_bytes(r, CHAT_ID_HEX, &s));
    if (s.len == 0 && empty_ok) {
        out[0] = '\0';
        return SP_OK;
    }
    if (s.len != CHAT_ID_HEX)
        return SP_ERR_INVALID;
    memcpy(out, s.ptr, CHAT_ID_HEX);
    out[CHAT_ID_HEX] = '\0';
    return sp_hex_is_lower(out, 32) ? SP_OK : SP_ERR_INVALID;
}

static sp_err get_uuid(sp_reader *r, char out[CHAT_UUID_LEN + 1], int empty_ok)
{
    sp_slice s;
    TRY(get_bytes(r, CHAT_UUID_LEN, &s));
    if (s.len == 0 && empty_ok) {
        out[0] = '\0';
        return SP_OK;
    }
    if (s.len != CHAT_UUID_LEN)
        return SP_ERR_INVALID;
    memcpy(out, s.ptr, CHAT_UUID_LEN);
    out[CHAT_UUID_LEN] = '\0';
    return sp_uuid_is_valid(out) ? SP_OK : SP_ERR_INVALID;
}

static sp_err begin(sp_reader *r, const uint8_t *p, size_t n)
{
    uint8_t v;
    sp_reader_init(r, p, n);
    TRY(sp_read_u8(r, &v));
    return v == CHAT_PROTO_VERSION ? SP_OK : SP_ERR_UNSUPPORTED;
}

static sp_err end(const sp_reader *r)
{
    return sp_reader_left(r) == 0 ? SP_OK : SP_ERR_INVALID;
}

sp_err chat_kp_decode(const uint8_t *p, size_t n, chat_kp_msg *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_uuid(&r, m->user_id, 0));
    TRY(get_hexid(&r, m->peer_id, 0));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->username));
    TRY(get_bytes(&r, MLS_BYTES_MAX, &m->key_package));
    if (m->key_package.len == 0)
        return SP_ERR_INVALID;
    return end(&r);
}

sp_err chat_commit_decode(const uint8_t *p, size_t n, chat_commit_msg *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_hexid(&r, m->channel_id, 0));
    TRY(sp_read_u64(&r, &m->epoch));
    TRY(get_hexid(&r, m->proposer, 0));
    TRY(sp_read_u64(&r, &m->request_id));
    TRY(get_bytes(&r, MLS_BYTES_MAX, &m->commit));
    TRY(sp_read_u8(&r, &m->auto_join));
    if (m->auto_join > 1)
        return SP_ERR_INVALID;
    TRY(get_uuid(&r, m->joiner, 1));
    TRY(get_bytes(&r, MLS_BYTES_MAX, &m->welcome));
    TRY(get_bytes(&r, MLS_BYTES_MAX, &m->ratchet_tree));
    TRY(get_hexid(&r, m->space_id, 1));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->space_name));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->channel_name));
    if (m->commit.len == 0 || (m->auto_join && (!m->joiner[0] || !m->welcome.len)))
        return SP_ERR_INVALID;
    return end(&r);
}

sp_err chat_reject_decode(const uint8_t *p, size_t n, chat_reject_msg *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_hexid(&r, m->channel_id, 0));
    TRY(sp_read_u64(&r, &m->epoch));
    TRY(sp_read_u64(&r, &m->request_id));
    TRY(sp_read_u64(&r, &m->current_epoch));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->reason));
    return end(&r);
}

sp_err chat_app_decode(const uint8_t *p, size_t n, chat_app_msg *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_hexid(&r, m->channel_id, 0));
    TRY(sp_read_u64(&r, &m->epoch));
    TRY(get_bytes(&r, MLS_BYTES_MAX, &m->message));
    if (m->message.len == 0)
        return SP_ERR_INVALID;
    return end(&r);
}

sp_err chat_epoch_decode(const uint8_t *p, size_t n, chat_epoch_msg *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_hexid(&r, m->channel_id, 0));
    TRY(sp_read_u64(&r, &m->epoch));
    TRY(get_bytes(&r, 64, &m->authenticator));
    if (m->authenticator.len == 0)
        return SP_ERR_INVALID;
    return end(&r);
}

sp_err chat_plain_decode(const uint8_t *p, size_t n, chat_app_plain *m)
{
    sp_reader r;
    uint64_t ts;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_uuid(&r, m->message_id, 0));
    TRY(sp_read_u64(&r, &ts));
    if (ts > (uint64_t)INT64_MAX)
        return SP_ERR_INVALID;
    m->timestamp = (int64_t)ts;
    TRY(get_text(&r, CHAT_CONTENT_MAX, &m->content));
    return end(&r);
}

sp_err chat_facts_decode(const uint8_t *p, size_t n, chat_facts *m)
{
    sp_reader r;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_hexid(&r, m->home_peer, 1));
    TRY(get_hexid(&r, m->space_id, 0));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->space_name));
    TRY(get_text(&r, NAME_MAX_BYTES, &m->channel_name));
    return end(&r);
}

sp_err chat_kp_used_decode(const uint8_t *p, size_t n, chat_kp_used_msg *m)
{
    sp_reader r;
    sp_slice ref;
    memset(m, 0, sizeof *m);
    TRY(begin(&r, p, n));
    TRY(get_uuid(&r, m->user_id, 0));
    TRY(get_bytes(&r, sizeof m->ref, &ref));
    if (ref.len != sizeof m->ref)
        return SP_ERR_INVALID;
    memcpy(m->ref, ref.ptr, sizeof m->ref);
    return end(&r);
}
