/* passive_client.c — a client that joins from a Welcome (tree in the Welcome
 * or out of band, external PSKs) and follows the group's commits and
 * proposals, checking the epoch authenticator of every epoch (test/vectors/
 * mls/FORMAT.md, "Passive Client Scenarios"). */
#include "passive_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/group_internal.h"

static int hexeq(const json *j, const uint8_t *b, size_t n)
{
    const char *h = json_str(j);
    if (!h || strlen(h) != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1 || v != b[i])
            return 0;
    }
    return 1;
}

static uint8_t *hex32(const json *c, const char *key, uint8_t out[32])
{
    size_t n;
    uint8_t *p = json_gethex(c, key, &n);
    int ok = p && n == 32;
    if (ok)
        memcpy(out, p, 32);
    free(p);
    return ok ? out : NULL;
}

static const char *follow(const json *c, mls_group *g)
{
    uint8_t ea[MLS_HASH_LEN];
    mls_group_epoch_authenticator(g, ea);
    if (!hexeq(json_get(c, "initial_epoch_authenticator"), ea, sizeof ea))
        return "initial epoch authenticator differs";
    const json *epochs = json_get(c, "epochs");
    for (size_t i = 0; i < json_len(epochs); i++) {
        const json *ep = json_at(epochs, i), *props = json_get(ep, "proposals");
        for (size_t k = 0; k < json_len(props); k++) {
            size_t n;
            const char *hex = json_str(json_at(props, k));
            n = hex ? strlen(hex) / 2 : 0;
            uint8_t *b = malloc(n ? n : 1);
            for (size_t j = 0; j < n; j++) {
                unsigned v;
                sscanf(hex + 2 * j, "%2x", &v);
                b[j] = (uint8_t)v;
            }
            mls_process_info info;
            sp_err e = mls_group_process(g, b, n, &info);
            free(b);
            if (e) {
                fprintf(stderr, "  epoch %zu proposal %zu: %s\n", i, k, sp_strerror(e));
                return "a proposal was rejected";
            }
        }
        size_t n;
        uint8_t *b = json_gethex(ep, "commit", &n);
        mls_process_info info;
        sp_err e = b ? mls_group_process(g, b, n, &info) : SP_ERR_INVALID;
        free(b);
        if (e) {
            fprintf(stderr, "  epoch %zu commit: %s\n", i, sp_strerror(e));
            return "a commit was rejected";
        }
        mls_group_epoch_authenticator(g, ea);
        if (!hexeq(json_get(ep, "epoch_authenticator"), ea, sizeof ea))
            return "epoch authenticator differs";
    }
    /* the state survives a save/load round trip */
    sp_buf blob = SP_BUF_INIT, again = SP_BUF_INIT;
    mls_group *h = NULL;
    const char *why = NULL;
    if (mls_group_save(g, &blob) || mls_group_load(blob.data, blob.len, NULL, &h) ||
        mls_group_save(h, &again) || blob.len != again.len || memcmp(blob.data, again.data, blob.len))
        why = "state blob round trip failed";
    mls_group_free(h);
    sp_buf_free_secret(&blob);
    sp_buf_free_secret(&again);
    return why;
}

const char *passive_client_case(const json *c)
{
    uint8_t sp[32], ep[32], ip[32], pub[32];
    size_t nk, nw, nt;
    uint8_t *kpb = json_gethex(c, "key_package", &nk), *wb = json_gethex(c, "welcome", &nw),
            *tree = json_gethex(c, "ratchet_tree", &nt);
    const json *psk_j = json_get(c, "external_psks");
    size_t n_psks = json_len(psk_j);
    mls_external_psk *psks = calloc(n_psks + 1, sizeof *psks);
    uint8_t **bufs = calloc(2 * n_psks + 1, sizeof *bufs);
    for (size_t i = 0; i < n_psks; i++) {
        bufs[2 * i] = json_gethex(json_at(psk_j, i), "psk_id", &psks[i].id.len);
        bufs[2 * i + 1] = json_gethex(json_at(psk_j, i), "psk", &psks[i].psk.len);
        psks[i].id.ptr = bufs[2 * i];
        psks[i].psk.ptr = bufs[2 * i + 1];
    }
    mls_message kpm = {0}, wm = {0};
    mls_group *g = NULL;
    const char *why = NULL;
    if (!kpb || !wb || !hex32(c, "signature_priv", sp) || !hex32(c, "encryption_priv", ep) ||
        !hex32(c, "init_priv", ip))
        why = "missing field";
    else if (mls_message_decode(kpb, nk, &kpm) || kpm.wire_format != MLS_WIRE_KEY_PACKAGE)
        why = "key package does not decode";
    else if (mls_message_decode(wb, nw, &wm) || wm.wire_format != MLS_WIRE_WELCOME)
        why = "welcome does not decode";
    else if (mls_sig_pub_from_priv(sp, pub) ||
             memcmp(pub, kpm.key_package.leaf_node.signature_key.data, 32))
        why = "signature_priv does not match";
    else if (mls_x25519_pub(ip, pub) || memcmp(pub, kpm.key_package.init_key.data, 32))
        why = "init_priv does not match";
    if (!why) {
        sp_err e = mls_group_join_keys(&wm.welcome, tree, tree ? nt : 0, &kpm.key_package, ip, ep,
                                       sp, psks, n_psks, NULL, &g);
        if (e) {
            fprintf(stderr, "  join: %s\n", sp_strerror(e));
            why = "joining failed";
        }
    }
    if (!why)
        why = follow(c, g);
    mls_group_free(g);
    mls_message_free(&kpm);
    mls_message_free(&wm);
    for (size_t i = 0; i < 2 * n_psks; i++)
        free(bufs[i]);
    free(bufs);
    free(psks);
    free(kpb), free(wb), free(tree);
    return why;
}

void passive_client_run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const char *why = passive_client_case(json_at(root, i));
        vec_case(st, i, why == NULL, why);
    }
}
