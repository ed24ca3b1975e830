/* codec_common.c — the building blocks: byte strings, item vectors, extensions,
 * credentials, capabilities, HPKE ciphertexts, PreSharedKeyIDs. */
#include <stdlib.h>

#include "mls/codec_internal.h"

sp_err mls_rd_bytes(sp_reader *r, mls_bytes *out)
{
    sp_slice s;
    TRY(mls_read_opaque(r, &s));
    return mls_bytes_set(out, s.ptr, s.len);
}

sp_err mls_wr_bytes(sp_buf *b, const mls_bytes *in)
{
    return mls_put_opaque(b, in->data, in->len);
}

sp_err mls_rd_items(sp_reader *r, void **items, size_t *n, size_t size, mls_rd_item_fn fn)
{
    sp_reader body;
    TRY(mls_read_vec(r, &body));
    size_t cap = 0;
    while (sp_reader_left(&body)) {
        if (*n == cap) {
            /* Bounded by the input: every item takes at least one byte, so
             * *n never exceeds the body length. */
            size_t ncap = cap ? cap * 2 : 4;
            void *p = realloc(*items, ncap * size);
            if (!p)
                return SP_ERR_NOMEM;
            *items = p;
            cap = ncap;
        }
        void *slot = (uint8_t *)*items + *n * size;
        memset(slot, 0, size);
        (*n)++;
        size_t before = sp_reader_left(&body);
        TRY(fn(&body, slot));
        if (sp_reader_left(&body) == before)
            return SP_ERR_INVALID; /* an empty item would let the count run away */
    }
    return SP_OK;
}

static sp_err rd_u16_list(sp_reader *r, mls_u16_list *out)
{
    sp_reader body;
    TRY(mls_read_vec(r, &body));
    size_t len = sp_reader_left(&body);
    if (len % 2)
        return SP_ERR_INVALID;
    if (len == 0)
        return SP_OK;
    out->v = malloc(len / 2 * sizeof *out->v);
    if (!out->v)
        return SP_ERR_NOMEM;
    out->n = len / 2;
    for (size_t i = 0; i < out->n; i++)
        TRY(sp_read_u16(&body, &out->v[i]));
    return SP_OK;
}

static sp_err wr_u16_list(sp_buf *b, const mls_u16_list *l)
{
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < l->n; i++)
        sp_buf_put_u16(b, l->v[i]);
    return mls_vec_end(b, s);
}

/* ---- Extension extensions<V> ------------------------------------------------------- */

static sp_err rd_extension(sp_reader *r, void *item)
{
    mls_extension *x = item;
    TRY(sp_read_u16(r, &x->type));
    return mls_rd_bytes(r, &x->data);
}

sp_err mls_rd_extension_list(sp_reader *r, mls_extension_list *out)
{
    return mls_rd_items(r, (void **)&out->v, &out->n, sizeof *out->v, rd_extension);
}
MLS_CODEC_DEFINE(extension_list)

sp_err mls_extension_list_write(sp_buf *b, const mls_extension_list *l)
{
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < l->n; i++) {
        sp_buf_put_u16(b, l->v[i].type);
        TRY(mls_wr_bytes(b, &l->v[i].data));
    }
    return mls_vec_end(b, s);
}

/* ---- Credential ---------------------------------------------------------------------- */

static sp_err rd_cert(sp_reader *r, void *item) { return mls_rd_bytes(r, item); }

sp_err mls_rd_credential(sp_reader *r, mls_credential *out)
{
    TRY(sp_read_u16(r, &out->type));
    switch (out->type) {
    case MLS_CREDENTIAL_BASIC:
        return mls_rd_bytes(r, &out->identity);
    case MLS_CREDENTIAL_X509:
        return mls_rd_items(r, (void **)&out->certs, &out->n_certs, sizeof *out->certs, rd_cert);
    default:
        /* the body of an unknown credential type has no length we could skip by */
        return SP_ERR_UNSUPPORTED;
    }
}
MLS_CODEC_DEFINE(credential)

sp_err mls_credential_write(sp_buf *b, const mls_credential *c)
{
    TRY(sp_buf_put_u16(b, c->type));
    switch (c->type) {
    case MLS_CREDENTIAL_BASIC:
        return mls_wr_bytes(b, &c->identity);
    case MLS_CREDENTIAL_X509: {
        size_t s = mls_vec_begin(b);
        for (size_t i = 0; i < c->n_certs; i++)
            TRY(mls_wr_bytes(b, &c->certs[i]));
        return mls_vec_end(b, s);
    }
    default:
        return SP_ERR_UNSUPPORTED;
    }
}

/* ---- Capabilities -------------------------------------------------------------------- */

sp_err mls_rd_capabilities(sp_reader *r, mls_capabilities *out)
{
    TRY(rd_u16_list(r, &out->versions));
    TRY(rd_u16_list(r, &out->cipher_suites));
    TRY(rd_u16_list(r, &out->extensions));
    TRY(rd_u16_list(r, &out->proposals));
    return rd_u16_list(r, &out->credentials);
}
MLS_CODEC_DEFINE(capabilities)

sp_err mls_capabilities_write(sp_buf *b, const mls_capabilities *c)
{
    TRY(wr_u16_list(b, &c->versions));
    TRY(wr_u16_list(b, &c->cipher_suites));
    TRY(wr_u16_list(b, &c->extensions));
    TRY(wr_u16_list(b, &c->proposals));
    return wr_u16_list(b, &c->credentials);
}

/* ---- HPKECiphertext ------------------------------------------------------------------ */

sp_err mls_rd_hpke_ciphertext(sp_reader *r, mls_hpke_ciphertext *out)
{
    TRY(mls_rd_bytes(r, &out->kem_output));
    return mls_rd_bytes(r, &out->ciphertext);
}
MLS_CODEC_DEFINE(hpke_ciphertext)

sp_err mls_hpke_ciphertext_write(sp_buf *b, const mls_hpke_ciphertext *c)
{
    TRY(mls_wr_bytes(b, &c->kem_output));
    return mls_wr_bytes(b, &c->ciphertext);
}

/* ---- PreSharedKeyID -------------------------------------------------------------------- */

sp_err mls_rd_psk_id(sp_reader *r, mls_psk_id *out)
{
    TRY(sp_read_u8(r, &out->type));
    switch (out->type) {
    case MLS_PSK_EXTERNAL:
        TRY(mls_rd_bytes(r, &out->psk_id));
        break;
    case MLS_PSK_RESUMPTION:
        TRY(sp_read_u8(r, &out->usage));
        if (out->usage < MLS_PSK_USAGE_APPLICATION || out->usage > MLS_PSK_USAGE_BRANCH)
            return SP_ERR_INVALID;
        TRY(mls_rd_bytes(r, &out->group_id));
        TRY(sp_read_u64(r, &out->epoch));
        break;
    default:
        return SP_ERR_INVALID;
    }
    return mls_rd_bytes(r, &out->nonce);
}
MLS_CODEC_DEFINE(psk_id)

sp_err mls_psk_id_write(sp_buf *b, const mls_psk_id *p)
{
    TRY(sp_buf_put_u8(b, p->type));
    switch (p->type) {
    case MLS_PSK_EXTERNAL:
        TRY(mls_wr_bytes(b, &p->psk_id));
        break;
    case MLS_PSK_RESUMPTION:
        TRY(sp_buf_put_u8(b, p->usage));
        TRY(mls_wr_bytes(b, &p->group_id));
        TRY(sp_buf_put_u64(b, p->epoch));
        break;
    default:
        return SP_ERR_INVALID;
    }
    return mls_wr_bytes(b, &p->nonce);
}

/* ---- extension payloads ------------------------------------------------------------------ */

sp_err mls_rd_required_capabilities(sp_reader *r, mls_required_capabilities *out)
{
    TRY(rd_u16_list(r, &out->extension_types));
    TRY(rd_u16_list(r, &out->proposal_types));
    return rd_u16_list(r, &out->credential_types);
}
MLS_CODEC_DEFINE(required_capabilities)

sp_err mls_required_capabilities_write(sp_buf *b, const mls_required_capabilities *rc)
{
    TRY(wr_u16_list(b, &rc->extension_types));
    TRY(wr_u16_list(b, &rc->proposal_types));
    return wr_u16_list(b, &rc->credential_types);
}

static sp_err rd_external_sender(sp_reader *r, void *item)
{
    mls_external_sender *s = item;
    TRY(mls_rd_bytes(r, &s->signature_key));
    return mls_rd_credential(r, &s->credential);
}

sp_err mls_rd_external_senders(sp_reader *r, mls_external_senders *out)
{
    return mls_rd_items(r, (void **)&out->v, &out->n, sizeof *out->v, rd_external_sender);
}
MLS_CODEC_DEFINE(external_senders)

sp_err mls_external_senders_write(sp_buf *b, const mls_external_senders *e)
{
    size_t s = mls_vec_begin(b);
    for (size_t i = 0; i < e->n; i++) {
        TRY(mls_wr_bytes(b, &e->v[i].signature_key));
        TRY(mls_credential_write(b, &e->v[i].credential));
    }
    return mls_vec_end(b, s);
}
