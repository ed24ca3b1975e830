/* group_state.c — an mls_group's life as data: allocation, deep copy (the
 * basis of staged states), freeing with every secret wiped, and the saved
 * blob (version 1) the daemon stores. */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/group_internal.h"
#include "mls/tls.h"

#define BLOB_VERSION 1

sp_err mls_group_alloc(mls_group **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SP_ERR_NOMEM;
    (*out)->max_past = MLS_GROUP_DEFAULT_PAST_EPOCHS;
    (*out)->active = 1;
    return SP_OK;
}

mls_past_epoch *mls_past_epoch_new(void)
{
    mls_past_epoch *p = calloc(1, sizeof *p);
    if (p)
        p->refs = 1;
    return p;
}

void mls_past_epoch_unref(mls_past_epoch *p)
{
    if (!p || --p->refs > 0)
        return;
    mls_group_context_free(&p->ctx);
    mls_secret_tree_free(p->st);
    mls_tree_free(p->tree);
    mls_wipe(p, sizeof *p);
    free(p);
}

/* Releases everything g owns, leaving it zeroed. */
static void group_clear(mls_group *g)
{
    mls_group_context_free(&g->ctx);
    mls_tree_free(g->tree);
    mls_signer_free(g->signer);
    mls_privs_free(&g->privs);
    mls_secret_tree_free(g->st);
    for (size_t i = 0; i < g->n_past; i++)
        mls_past_epoch_unref(g->past[i]);
    free(g->past);
    if (g->res) {
        mls_wipe(g->res, g->n_res * sizeof *g->res);
        free(g->res);
    }
    for (size_t i = 0; i < g->n_props; i++)
        mls_proposal_free(&g->props[i].p);
    free(g->props);
    for (size_t i = 0; i < g->n_psks; i++) {
        mls_bytes_free(&g->psks[i].id);
        mls_bytes_free_secret(&g->psks[i].psk);
    }
    free(g->psks);
    mls_wipe(g, sizeof *g);
}

void mls_group_free(mls_group *g)
{
    if (!g)
        return;
    group_clear(g);
    free(g);
}

void mls_group_apply(mls_group *g, mls_group *next)
{
    const mls_rand *rng = g->rng;
    group_clear(g);
    *g = *next;
    if (!g->rng)
        g->rng = rng;
    mls_wipe(next, sizeof *next);
    free(next);
}

static sp_err copy_array(void **out, const void *in, size_t n, size_t size)
{
    *out = NULL;
    if (!n)
        return SP_OK;
    *out = malloc(n * size);
    if (!*out)
        return SP_ERR_NOMEM;
    memcpy(*out, in, n * size);
    return SP_OK;
}

sp_err mls_group_clone(const mls_group *g, mls_group **out)
{
    mls_group *c;
    TRY(mls_group_alloc(&c));
    c->active = g->active;
    c->private_handshake = g->private_handshake;
    c->me = g->me;
    c->interim_len = g->interim_len;
    memcpy(c->interim, g->interim, sizeof c->interim);
    c->sec = g->sec;
    c->max_past = g->max_past;
    c->rng = g->rng;
    memcpy(c->sig_priv, g->sig_priv, sizeof c->sig_priv);
    sp_err e = mls_group_context_copy(&c->ctx, &g->ctx);
    if (!e)
        e = mls_tree_clone(g->tree, &c->tree);
    if (!e)
        e = g->signer ? mls_signer_dup(g->signer, &c->signer)
                      : mls_signer_new(g->sig_priv, &c->signer);
    if (!e)
        e = mls_privs_copy(&g->privs, &c->privs);
    if (!e && g->st)
        e = mls_secret_tree_dup(g->st, &c->st);
    if (!e && g->n_past) {
        c->past = calloc(g->n_past, sizeof *c->past);
        e = c->past ? SP_OK : SP_ERR_NOMEM;
        for (size_t i = 0; !e && i < g->n_past; i++) {
            c->past[c->n_past++] = g->past[i];
            g->past[i]->refs++;
        }
    }
    if (!e && !(e = copy_array((void **)&c->res, g->res, g->n_res, sizeof *g->res)))
        c->n_res = g->n_res;
    if (!e && g->n_props) {
        c->props = calloc(g->n_props, sizeof *c->props);
        e = c->props ? SP_OK : SP_ERR_NOMEM;
        for (size_t i = 0; !e && i < g->n_props; i++) {
            c->n_props++;
            memcpy(c->props[i].ref, g->props[i].ref, MLS_HASH_LEN);
            c->props[i].sender = g->props[i].sender;
            e = mls_proposal_copy(&c->props[i].p, &g->props[i].p);
        }
    }
    if (!e)
        e = mls_group_set_psks(c, NULL, 0);
    for (size_t i = 0; !e && i < g->n_psks; i++) {
        mls_external_psk p = {mls_bytes_slice(&g->psks[i].id), mls_bytes_slice(&g->psks[i].psk)};
        mls_psk_entry *v = realloc(c->psks, (c->n_psks + 1) * sizeof *v);
        e = v ? SP_OK : SP_ERR_NOMEM;
        if (!e) {
            c->psks = v;
            memset(&v[c->n_psks], 0, sizeof *v);
            c->n_psks++;
            e = mls_bytes_set(&v[c->n_psks - 1].id, p.id.ptr, p.id.len);
            if (!e)
                e = mls_bytes_set(&v[c->n_psks - 1].psk, p.psk.ptr, p.psk.len);
        }
    }
    if (e) {
        mls_group_free(c);
        return e;
    }
    *out = c;
    return SP_OK;
}

sp_err mls_group_set_psks(mls_group *g, const mls_external_psk *psks, size_t n)
{
    mls_psk_entry *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        return SP_ERR_NOMEM;
    sp_err e = SP_OK;
    for (size_t i = 0; !e && i < n; i++) {
        e = mls_bytes_set(&v[i].id, psks[i].id.ptr, psks[i].id.len);
        if (!e)
            e = mls_bytes_set(&v[i].psk, psks[i].psk.ptr, psks[i].psk.len);
    }
    if (e) {
        for (size_t i = 0; i < n; i++) {
            mls_bytes_free(&v[i].id);
            mls_bytes_free_secret(&v[i].psk);
        }
        free(v);
        return e;
    }
    for (size_t i = 0; i < g->n_psks; i++) {
        mls_bytes_free(&g->psks[i].id);
        mls_bytes_free_secret(&g->psks[i].psk);
    }
    free(g->psks);
    g->psks = v;
    g->n_psks = n;
    return SP_OK;
}

sp_err mls_group_note_resumption(mls_group *g)
{
    if (g->n_res == MLS_GROUP_RESUMPTION_KEPT) {
        mls_wipe(&g->res[0], sizeof g->res[0]);
        memmove(g->res, g->res + 1, (g->n_res - 1) * sizeof *g->res);
        g->n_res--;
    } else {
        mls_resumption *v = realloc(g->res, (g->n_res + 1) * sizeof *v);
        if (!v)
            return SP_ERR_NOMEM;
        g->res = v;
    }
    g->res[g->n_res].epoch = g->ctx.epoch;
    memcpy(g->res[g->n_res].psk, g->sec.resumption_psk, MLS_HASH_LEN);
    g->n_res++;
    return SP_OK;
}

/* ---- the saved blob ------------------------------------------------------------------------- */

static sp_err put_st(sp_buf *b, const mls_secret_tree *st)
{
    sp_buf t = SP_BUF_INIT;
    sp_err e = st ? mls_secret_tree_encode(st, &t) : SP_OK;
    if (!e)
        e = mls_put_opaque(b, t.data, t.len);
    sp_buf_free_secret(&t);
    return e;
}

static sp_err put_tree(sp_buf *b, const mls_tree *tr)
{
    sp_buf t = SP_BUF_INIT;
    sp_err e = mls_tree_encode(tr, &t);
    if (!e)
        e = mls_put_opaque(b, t.data, t.len);
    sp_buf_free(&t);
    return e;
}

sp_err mls_group_save(const mls_group *g, sp_buf *b)
{
    sp_buf_put_u8(b, BLOB_VERSION);
    sp_buf_put_u8(b, (uint8_t)g->active);
    TRY(mls_group_context_write(b, &g->ctx));
    TRY(put_tree(b, g->tree));
    sp_buf_put_u32(b, g->me);
    sp_buf_append(b, g->sig_priv, sizeof g->sig_priv);
    sp_buf_put_u32(b, (uint32_t)g->privs.n);
    for (size_t i = 0; i < g->privs.n; i++) {
        sp_buf_put_u32(b, g->privs.v[i].node);
        sp_buf_append(b, g->privs.v[i].priv, MLS_KEM_PRIV_LEN);
        sp_buf_append(b, g->privs.v[i].pub, MLS_KEM_PUB_LEN);
    }
    mls_put_opaque(b, g->interim, g->interim_len);
    sp_buf_append(b, &g->sec, sizeof g->sec);
    TRY(put_st(b, g->st));
    sp_buf_put_u32(b, g->max_past);
    sp_buf_put_u32(b, (uint32_t)g->n_past);
    for (size_t i = 0; i < g->n_past; i++) {
        TRY(mls_group_context_write(b, &g->past[i]->ctx));
        sp_buf_append(b, g->past[i]->sender_data_secret, MLS_HASH_LEN);
        TRY(put_st(b, g->past[i]->st));
        TRY(put_tree(b, g->past[i]->tree));
    }
    sp_buf_put_u32(b, (uint32_t)g->n_res);
    for (size_t i = 0; i < g->n_res; i++) {
        sp_buf_put_u64(b, g->res[i].epoch);
        sp_buf_append(b, g->res[i].psk, MLS_HASH_LEN);
    }
    sp_buf_put_u32(b, (uint32_t)g->n_props);
    for (size_t i = 0; i < g->n_props; i++) {
        sp_buf_append(b, g->props[i].ref, MLS_HASH_LEN);
        sp_buf_put_u32(b, g->props[i].sender);
        TRY(mls_proposal_write(b, &g->props[i].p));
    }
    sp_buf_put_u32(b, (uint32_t)g->n_psks);
    for (size_t i = 0; i < g->n_psks; i++) {
        mls_put_opaque(b, g->psks[i].id.data, g->psks[i].id.len);
        mls_put_opaque(b, g->psks[i].psk.data, g->psks[i].psk.len);
    }
    sp_buf_put_u8(b, (uint8_t)g->private_handshake);
    return b->failed ? SP_ERR_NOMEM : SP_OK;
}

static sp_err get_st(sp_reader *r, mls_secret_tree **st)
{
    sp_slice s;
    TRY(mls_read_opaque(r, &s));
    if (!s.len) {
        *st = NULL; /* a group we were removed from keeps no current secrets */
        return SP_OK;
    }
    return mls_secret_tree_decode(s.ptr, s.len, st);
}

static sp_err get_tree(sp_reader *r, mls_tree **t)
{
    sp_slice s;
    TRY(mls_read_opaque(r, &s));
    return mls_tree_decode(s.ptr, s.len, t);
}

/* Rejects counts that cannot fit in what is left (each item >= min bytes). */
static sp_err get_count(sp_reader *r, size_t min, uint32_t *n)
{
    TRY(sp_read_u32(r, n));
    return (size_t)*n * min <= sp_reader_left(r) ? SP_OK : SP_ERR_INVALID;
}

static sp_err load(sp_reader *r, mls_group *g)
{
    uint8_t v, active;
    uint32_t n;
    TRY(sp_read_u8(r, &v));
    if (v != BLOB_VERSION)
        return SP_ERR_UNSUPPORTED;
    TRY(sp_read_u8(r, &active));
    g->active = active != 0;
    TRY(mls_group_context_read(r, &g->ctx));
    TRY(get_tree(r, &g->tree));
    TRY(sp_read_u32(r, &g->me));
    TRY(sp_read_copy(r, g->sig_priv, sizeof g->sig_priv));
    TRY(mls_signer_new(g->sig_priv, &g->signer));
    TRY(get_count(r, 4 + MLS_KEM_PRIV_LEN + MLS_KEM_PUB_LEN, &n));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t node;
        uint8_t priv[MLS_KEM_PRIV_LEN], pub[MLS_KEM_PUB_LEN];
        TRY(sp_read_u32(r, &node));
        TRY(sp_read_copy(r, priv, sizeof priv));
        TRY(sp_read_copy(r, pub, sizeof pub));
        sp_err e = mls_privs_set(&g->privs, node, priv, pub);
        mls_wipe(priv, sizeof priv);
        TRY(e);
    }
    sp_slice s;
    TRY(mls_read_opaque(r, &s));
    if (s.len != 0 && s.len != MLS_HASH_LEN)
        return SP_ERR_INVALID;
    memcpy(g->interim, s.ptr, s.len);
    g->interim_len = s.len;
    TRY(sp_read_copy(r, &g->sec, sizeof g->sec));
    TRY(get_st(r, &g->st));
    TRY(sp_read_u32(r, &n));
    g->max_past = n;
    TRY(get_count(r, 8, &n));
    if (n) {
        g->past = calloc(n, sizeof *g->past);
        if (!g->past)
            return SP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        mls_past_epoch *p = mls_past_epoch_new();
        if (!p)
            return SP_ERR_NOMEM;
        g->past[g->n_past++] = p;
        TRY(mls_group_context_read(r, &p->ctx));
        TRY(sp_read_copy(r, p->sender_data_secret, MLS_HASH_LEN));
        TRY(get_st(r, &p->st));
        TRY(get_tree(r, &p->tree));
    }
    TRY(get_count(r, 8 + MLS_HASH_LEN, &n));
    if (n) {
        g->res = calloc(n, sizeof *g->res);
        if (!g->res)
            return SP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        TRY(sp_read_u64(r, &g->res[i].epoch));
        TRY(sp_read_copy(r, g->res[i].psk, MLS_HASH_LEN));
        g->n_res++;
    }
    TRY(get_count(r, MLS_HASH_LEN + 6, &n));
    if (n) {
        g->props = calloc(n, sizeof *g->props);
        if (!g->props)
            return SP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        mls_cached_proposal *p = &g->props[g->n_props++];
        TRY(sp_read_copy(r, p->ref, MLS_HASH_LEN));
        TRY(sp_read_u32(r, &p->sender));
        TRY(mls_proposal_read(r, &p->p));
    }
    TRY(get_count(r, 2, &n));
    if (n) {
        g->psks = calloc(n, sizeof *g->psks);
        if (!g->psks)
            return SP_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        mls_psk_entry *p = &g->psks[g->n_psks++];
        TRY(mls_read_opaque(r, &s));
        TRY(mls_bytes_set(&p->id, s.ptr, s.len));
        TRY(mls_read_opaque(r, &s));
        TRY(mls_bytes_set(&p->psk, s.ptr, s.len));
    }
    TRY(sp_read_u8(r, &v));
    g->private_handshake = v != 0;
    if (sp_reader_left(r))
        return SP_ERR_INVALID;
    if (g->active && (!g->st || !mls_tree_leaf(g->tree, mls_leaf(g->me))))
        return SP_ERR_INVALID; /* an active member has its leaf and current secrets */
    return SP_OK;
}

sp_err mls_group_load(const uint8_t *p, size_t n, const mls_rand *rng, mls_group **out)
{
    mls_group *g;
    TRY(mls_group_alloc(&g));
    sp_reader r;
    sp_reader_init(&r, p, n);
    sp_err e = load(&r, g);
    if (e) {
        mls_group_free(g);
        return e;
    }
    g->rng = rng;
    *out = g;
    return SP_OK;
}
