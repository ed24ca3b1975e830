/* vec_key-schedule.c — key-schedule.json: 5 chained epochs (RFC 9420 §8): GroupContext,
 * joiner/welcome/init and every derived secret, external_pub, one exporter output each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/key_schedule.h"
#include "mls/tls.h"
#include "vectors.h"

static int hex_is(const json *o, const char *key, const uint8_t *got, size_t n)
{
    size_t len;
    uint8_t *want = json_gethex(o, key, &len);
    int ok = want && len == n && memcmp(want, got, n) == 0;
    free(want);
    return ok;
}

/* GroupContext {uint16 version; uint16 cipher_suite; opaque group_id<V>; uint64 epoch;
 * opaque tree_hash<V>; opaque confirmed_transcript_hash<V>; Extension extensions<V>} with no
 * extensions — encoded here so this vector does not depend on the message codec. */
static sp_err group_context(sp_buf *b, uint16_t suite, const uint8_t *gid, size_t gid_n,
                            uint64_t epoch, const uint8_t *th, size_t th_n, const uint8_t *cth,
                            size_t cth_n)
{
    sp_err err = sp_buf_put_u16(b, MLS_PROTOCOL_VERSION);
    if (!err) err = sp_buf_put_u16(b, suite);
    if (!err) err = mls_put_opaque(b, gid, gid_n);
    if (!err) err = sp_buf_put_u64(b, epoch);
    if (!err) err = mls_put_opaque(b, th, th_n);
    if (!err) err = mls_put_opaque(b, cth, cth_n);
    if (!err) err = mls_put_varint(b, 0);
    return err;
}

static void run(const json *root, vec_stats *st)
{
    size_t idx = 0;
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        size_t gid_n, init_n;
        uint8_t *gid = json_gethex(c, "group_id", &gid_n);
        uint8_t *init0 = json_gethex(c, "initial_init_secret", &init_n);
        uint8_t init[MLS_HASH_LEN];
        int chain_ok = gid && init0 && init_n == MLS_HASH_LEN;
        if (chain_ok) memcpy(init, init0, MLS_HASH_LEN);
        const json *epochs = json_get(c, "epochs");
        for (size_t e = 0; e < json_len(epochs); e++) {
            const json *ep = json_at(epochs, e);
            size_t th_n, cs_n, ps_n, cth_n, lab_n, ctx_n;
            uint8_t *th = json_gethex(ep, "tree_hash", &th_n), *cs = json_gethex(ep, "commit_secret", &cs_n),
                    *ps = json_gethex(ep, "psk_secret", &ps_n),
                    *cth = json_gethex(ep, "confirmed_transcript_hash", &cth_n);
            const json *ex = json_get(ep, "exporter");
            const char *label = json_gets(ex, "label");
            uint8_t *ectx = json_gethex(ex, "context", &ctx_n);
            uint16_t elen = (uint16_t)json_getu(ex, "length");
            lab_n = label ? strlen(label) : 0;
            sp_buf gc = SP_BUF_INIT;
            mls_epoch_secrets s;
            uint8_t xpriv[MLS_KEM_PRIV_LEN], xpub[MLS_KEM_PUB_LEN], *exported = malloc(elen + 1u);
            int ok = chain_ok && th && cs && ps && cth && label && ectx && exported &&
                     cs_n == MLS_HASH_LEN && ps_n == MLS_HASH_LEN &&
                     group_context(&gc, (uint16_t)json_getu(c, "cipher_suite"), gid, gid_n, e, th,
                                   th_n, cth, cth_n) == SP_OK &&
                     hex_is(ep, "group_context", gc.data, gc.len);
            ok = ok && mls_key_schedule(init, cs, ps, gc.data, gc.len, &s) == SP_OK &&
                 hex_is(ep, "joiner_secret", s.joiner_secret, 32) &&
                 hex_is(ep, "welcome_secret", s.welcome_secret, 32) &&
                 hex_is(ep, "init_secret", s.init_secret, 32) &&
                 hex_is(ep, "sender_data_secret", s.sender_data_secret, 32) &&
                 hex_is(ep, "encryption_secret", s.encryption_secret, 32) &&
                 hex_is(ep, "exporter_secret", s.exporter_secret, 32) &&
                 hex_is(ep, "epoch_authenticator", s.epoch_authenticator, 32) &&
                 hex_is(ep, "external_secret", s.external_secret, 32) &&
                 hex_is(ep, "confirmation_key", s.confirmation_key, 32) &&
                 hex_is(ep, "membership_key", s.membership_key, 32) &&
                 hex_is(ep, "resumption_psk", s.resumption_psk, 32);
            ok = ok && mls_external_key_pair(s.external_secret, xpriv, xpub) == SP_OK &&
                 hex_is(ep, "external_pub", xpub, sizeof xpub);
            ok = ok && mls_exporter(s.exporter_secret, (const uint8_t *)label, lab_n, ectx, ctx_n,
                                    exported, elen) == SP_OK &&
                 hex_is(ex, "secret", exported, elen);
            /* A joiner recomputes the same epoch from joiner_secret alone. */
            mls_epoch_secrets j;
            uint8_t w[MLS_HASH_LEN];
            ok = ok && mls_key_schedule_from_joiner(s.joiner_secret, ps, gc.data, gc.len, &j) == SP_OK &&
                 memcmp(&j, &s, sizeof s) == 0 &&
                 mls_welcome_secret(s.joiner_secret, ps, w) == SP_OK &&
                 memcmp(w, s.welcome_secret, sizeof w) == 0;
            char why[64];
            snprintf(why, sizeof why, "entry %zu epoch %zu mismatch", i, e);
            vec_case(st, idx++, ok, why);
            if (ok) memcpy(init, s.init_secret, MLS_HASH_LEN);
            else chain_ok = 0;
            mls_epoch_secrets_wipe(&s);
            mls_epoch_secrets_wipe(&j);
            sp_buf_free(&gc);
            free(th);
            free(cs);
            free(ps);
            free(cth);
            free(ectx);
            free(exported);
        }
        free(gid);
        free(init0);
    }
}

MLS_VECTOR_CATEGORY("key-schedule", run)
