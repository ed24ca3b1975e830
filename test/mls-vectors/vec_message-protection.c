/* vec_message-protection.c — message-protection.json: PublicMessage (signature and
 * membership tag) and PrivateMessage (secret-tree keys, sender data) in both
 * directions, for a proposal, a commit and application data (RFC 9420 §6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/framing.h"
#include "vectors.h"

typedef struct {
    mls_group_context ctx;
    uint8_t sig_pub[MLS_SIG_PUB_LEN];
    mls_signer *signer;
    uint8_t enc_secret[MLS_HASH_LEN], sds[MLS_HASH_LEN], membership_key[MLS_HASH_LEN];
} fixture;

static sp_err fixed_key(void *arg, const mls_framed_content *c, uint8_t pub[MLS_SIG_PUB_LEN])
{
    const fixture *f = arg;
    if (c->sender.type != MLS_SENDER_MEMBER || c->sender.index != 1)
        return SP_ERR_NOT_FOUND;
    memcpy(pub, f->sig_pub, MLS_SIG_PUB_LEN);
    return SP_OK;
}

/* The opened content's body must be the raw value of the vector. */
static int body_is(const mls_framed_content *c, const uint8_t *raw, size_t n)
{
    if (c->content_type == MLS_CONTENT_APPLICATION)
        return c->application_data.len == n && memcmp(c->application_data.data, raw, n) == 0;
    sp_buf b = SP_BUF_INIT;
    int ok = mls_content_body_write(&b, c) == SP_OK && b.len == n && memcmp(b.data, raw, n) == 0;
    sp_buf_free(&b);
    return ok;
}

static sp_err new_tree(const fixture *f, mls_secret_tree **st)
{
    return mls_secret_tree_new(f->enc_secret, 2, NULL, st);
}

/* Opens an encoded MLSMessage of either kind with a fresh secret tree. */
static int open_and_check(const fixture *f, const uint8_t *msg, size_t n, uint16_t wire,
                          const uint8_t *raw, size_t raw_len)
{
    mls_message m;
    mls_authenticated_content ac = {0};
    mls_secret_tree *st = NULL;
    int ok = mls_message_decode(msg, n, &m) == SP_OK;
    ok = ok && m.wire_format == wire;
    if (ok && wire == MLS_WIRE_PUBLIC_MESSAGE)
        ok = mls_public_message_open(&m.public_message, &f->ctx, f->membership_key, fixed_key,
                                     (void *)f, &ac) == SP_OK;
    else if (ok)
        ok = new_tree(f, &st) == SP_OK &&
             mls_private_message_open(&m.private_message, &f->ctx, st, f->sds, fixed_key,
                                      (void *)f, &ac) == SP_OK;
    ok = ok && ac.content.sender.type == MLS_SENDER_MEMBER && ac.content.sender.index == 1 &&
         body_is(&ac.content, raw, raw_len);
    mls_authenticated_content_free(&ac);
    mls_secret_tree_free(st);
    mls_message_free(&m);
    return ok;
}

/* Protects raw (of content_type) as wire, encodes it as an MLSMessage into out. */
static sp_err protect(const fixture *f, uint8_t content_type, const uint8_t *raw, size_t n,
                      uint16_t wire, sp_buf *out)
{
    mls_authenticated_content ac = {0};
    mls_message m = {0};
    mls_secret_tree *st = NULL;
    ac.wire_format = wire;
    ac.content.epoch = f->ctx.epoch;
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = 1;
    ac.content.content_type = content_type;
    sp_err e = mls_bytes_set(&ac.content.group_id, f->ctx.group_id.data, f->ctx.group_id.len);
    if (!e)
        e = mls_bytes_set(&ac.content.authenticated_data, "aad", 3);
    if (!e) {
        sp_reader r;
        sp_reader_init(&r, raw, n);
        if (content_type == MLS_CONTENT_APPLICATION)
            e = mls_bytes_set(&ac.content.application_data, raw, n);
        else if ((e = mls_content_body_read(&r, &ac.content)) == SP_OK && sp_reader_left(&r))
            e = SP_ERR_INVALID;
    }
    if (!e)
        e = mls_content_sign(&ac, &f->ctx, f->signer);
    if (!e && content_type == MLS_CONTENT_COMMIT)
        e = mls_bytes_set(&ac.auth.confirmation_tag, f->membership_key, MLS_HASH_LEN);
    m.version = MLS_VERSION_10;
    m.wire_format = wire;
    if (!e && wire == MLS_WIRE_PUBLIC_MESSAGE)
        e = mls_public_message_protect(&ac, &f->ctx, f->membership_key, &m.public_message);
    else if (!e)
        e = new_tree(f, &st) ?: mls_private_message_protect(&ac, st, f->sds, 7, NULL,
                                                            &m.private_message);
    if (!e)
        e = mls_message_write(out, &m);
    mls_secret_tree_free(st);
    mls_message_free(&m);
    mls_authenticated_content_free(&ac);
    return e;
}

static const char *check_kind(const fixture *f, const json *c, const char *name, uint8_t type)
{
    static char why[96];
    char key[64];
    size_t n_raw, n_pub = 0, n_priv;
    uint8_t *raw = json_gethex(c, name, &n_raw);
    snprintf(key, sizeof key, "%s_pub", name);
    uint8_t *pub = type == MLS_CONTENT_APPLICATION ? NULL : json_gethex(c, key, &n_pub);
    snprintf(key, sizeof key, "%s_priv", name);
    uint8_t *priv = json_gethex(c, key, &n_priv);
    const char *step = NULL;
    sp_buf b = SP_BUF_INIT;
    if (!raw || !priv || (type != MLS_CONTENT_APPLICATION && !pub))
        step = "missing field";
    else if (pub && !open_and_check(f, pub, n_pub, MLS_WIRE_PUBLIC_MESSAGE, raw, n_raw))
        step = "given PublicMessage does not open";
    else if (!open_and_check(f, priv, n_priv, MLS_WIRE_PRIVATE_MESSAGE, raw, n_raw))
        step = "given PrivateMessage does not open";
    else if (type == MLS_CONTENT_APPLICATION &&
             protect(f, type, raw, n_raw, MLS_WIRE_PUBLIC_MESSAGE, &b) == SP_OK)
        step = "application data protected as a PublicMessage";
    else if (type != MLS_CONTENT_APPLICATION &&
             (protect(f, type, raw, n_raw, MLS_WIRE_PUBLIC_MESSAGE, &b) != SP_OK ||
              !open_and_check(f, b.data, b.len, MLS_WIRE_PUBLIC_MESSAGE, raw, n_raw)))
        step = "own PublicMessage does not round-trip";
    else if ((sp_buf_reset(&b), protect(f, type, raw, n_raw, MLS_WIRE_PRIVATE_MESSAGE, &b)) !=
                 SP_OK ||
             !open_and_check(f, b.data, b.len, MLS_WIRE_PRIVATE_MESSAGE, raw, n_raw))
        step = "own PrivateMessage does not round-trip";
    sp_buf_free(&b);
    free(raw);
    free(pub);
    free(priv);
    if (!step)
        return NULL;
    snprintf(why, sizeof why, "%s: %s", name, step);
    return why;
}

static int load32(const json *c, const char *key, uint8_t out[32])
{
    size_t n;
    uint8_t *p = json_gethex(c, key, &n);
    int ok = p && n == 32;
    if (ok)
        memcpy(out, p, 32);
    free(p);
    return ok;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        fixture f;
        memset(&f, 0, sizeof f);
        uint8_t priv[MLS_SIG_PRIV_LEN];
        const char *why = "bad fixture";
        size_t n;
        f.ctx.version = MLS_VERSION_10;
        f.ctx.cipher_suite = (uint16_t)json_getu(c, "cipher_suite");
        f.ctx.epoch = json_getu(c, "epoch");
        f.ctx.group_id.data = json_gethex(c, "group_id", &f.ctx.group_id.len);
        f.ctx.tree_hash.data = json_gethex(c, "tree_hash", &n);
        f.ctx.tree_hash.len = n;
        f.ctx.confirmed_transcript_hash.data = json_gethex(c, "confirmed_transcript_hash", &n);
        f.ctx.confirmed_transcript_hash.len = n;
        int ok = f.ctx.cipher_suite == MLS_CIPHER_SUITE && f.ctx.group_id.data &&
                 f.ctx.tree_hash.data && f.ctx.confirmed_transcript_hash.data &&
                 load32(c, "signature_priv", priv) && load32(c, "signature_pub", f.sig_pub) &&
                 load32(c, "encryption_secret", f.enc_secret) &&
                 load32(c, "sender_data_secret", f.sds) &&
                 load32(c, "membership_key", f.membership_key) &&
                 mls_signer_new(priv, &f.signer) == SP_OK;
        if (ok) {
            why = check_kind(&f, c, "proposal", MLS_CONTENT_PROPOSAL);
            if (!why)
                why = check_kind(&f, c, "commit", MLS_CONTENT_COMMIT);
            if (!why)
                why = check_kind(&f, c, "application", MLS_CONTENT_APPLICATION);
            ok = !why;
        }
        mls_signer_free(f.signer);
        mls_group_context_free(&f.ctx);
        vec_case(st, i, ok, why);
    }
}

MLS_VECTOR_CATEGORY("message-protection", run)
