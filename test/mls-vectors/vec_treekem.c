/* vec_treekem.c — treekem.json: for each UpdatePath, merging it (parent
 * hashes, leaf signature), every other member decrypting its path secret and
 * the commit secret, the tree hash after; then a fresh UpdatePath from the
 * same sender that every other member processes to the same commit secret
 * (RFC 9420 §7.4–§7.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/ratchet_tree.h"
#include "mls/treekem.h"
#include "vectors.h"

#define MAXL 64

typedef struct {
    int present;
    mls_privs privs;
    uint8_t sig_priv[MLS_SIG_PRIV_LEN];
} member;

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

static int hexget(const json *obj, const char *key, uint8_t *out, size_t n)
{
    size_t len;
    uint8_t *p = json_gethex(obj, key, &len);
    int ok = p && len == n;
    if (ok)
        memcpy(out, p, n);
    free(p);
    return ok;
}

static const char *setup_members(const json *c, const mls_tree *t, member *m)
{
    const json *lp = json_get(c, "leaves_private");
    for (size_t i = 0; i < json_len(lp); i++) {
        const json *x = json_at(lp, i);
        uint32_t idx = (uint32_t)json_getu(x, "index");
        if (idx >= MAXL)
            return "leaf index too large";
        member *mb = &m[idx];
        mb->present = 1;
        uint8_t priv[MLS_KEM_PRIV_LEN], pub[MLS_KEM_PUB_LEN];
        if (!hexget(x, "encryption_priv", priv, sizeof priv) ||
            !hexget(x, "signature_priv", mb->sig_priv, sizeof mb->sig_priv))
            return "bad private keys";
        if (mls_x25519_pub(priv, pub) || mls_privs_set(&mb->privs, 2 * idx, priv, pub))
            return "bad leaf key";
        const json *ps = json_get(x, "path_secrets");
        for (size_t k = 0; k < json_len(ps); k++) {
            uint8_t s[MLS_HASH_LEN];
            uint32_t node = (uint32_t)json_getu(json_at(ps, k), "node");
            if (!hexget(json_at(ps, k), "path_secret", s, sizeof s) ||
                mls_path_secret_keys(s, priv, pub) || mls_privs_set(&mb->privs, node, priv, pub))
                return "bad path secret";
        }
        /* every private key must match the public tree */
        size_t before = mb->privs.n;
        mls_privs_prune(&mb->privs, t);
        if (mb->privs.n != before)
            return "private state inconsistent with the tree";
    }
    return NULL;
}

static sp_err ctx_bytes(const json *c, mls_tree *t, sp_buf *out)
{
    mls_group_context g = {0};
    size_t n;
    uint8_t h[MLS_HASH_LEN];
    g.version = MLS_VERSION_10;
    g.cipher_suite = MLS_CIPHER_SUITE;
    g.epoch = json_getu(c, "epoch");
    g.group_id.data = json_gethex(c, "group_id", &g.group_id.len);
    g.confirmed_transcript_hash.data = json_gethex(c, "confirmed_transcript_hash", &n);
    g.confirmed_transcript_hash.len = n;
    sp_err e = mls_tree_root_hash(t, h);
    if (!e)
        e = mls_bytes_set(&g.tree_hash, h, sizeof h);
    if (!e)
        e = mls_group_context_write(out, &g);
    mls_group_context_free(&g);
    return e;
}

/* Every present member other than sender processes up on a copy of tree;
 * their commit secrets must equal want (and path_secrets[j] when given). */
static const char *receive_all(const json *c, const mls_tree *tree, member *m, uint32_t sender,
                               const mls_update_path *up, const uint8_t want[MLS_HASH_LEN],
                               const json *path_secrets, const json *tree_hash_after)
{
    size_t ng;
    uint8_t *gid = json_gethex(c, "group_id", &ng);
    sp_slice g = {gid, ng};
    mls_tree *t = NULL;
    sp_buf ctx = SP_BUF_INIT;
    const char *why = NULL;
    uint8_t h[MLS_HASH_LEN];
    if (mls_tree_clone(tree, &t) || mls_treekem_merge(t, mls_leaf(sender), up, g))
        why = "merging the path failed";
    else if (tree_hash_after && (mls_tree_root_hash(t, h) || !hexeq(tree_hash_after, h, sizeof h)))
        why = "tree_hash_after differs";
    else if (ctx_bytes(c, t, &ctx))
        why = "group context";
    for (uint32_t j = 0; !why && j < MAXL; j++) {
        if (!m[j].present || j == sender || !mls_tree_leaf(t, mls_leaf(j)))
            continue;
        mls_privs p;
        uint8_t ps[MLS_HASH_LEN], cs[MLS_HASH_LEN];
        if (mls_privs_copy(&m[j].privs, &p))
            why = "nomem";
        else if (mls_treekem_decrypt(t, mls_leaf(sender), mls_leaf(j), up, &p, ctx.data, ctx.len,
                                     NULL, 0, ps, cs))
            why = "decrypting the path failed";
        else if (path_secrets && !hexeq(json_at(path_secrets, j), ps, sizeof ps))
            why = "path secret differs";
        else if (memcmp(cs, want, MLS_HASH_LEN))
            why = "commit secret differs";
        mls_privs_free(&p);
    }
    sp_buf_free(&ctx);
    mls_tree_free(t);
    free(gid);
    return why;
}

static const char *one(const json *c)
{
    size_t nt, ng;
    uint8_t *rt = json_gethex(c, "ratchet_tree", &nt), *gid = json_gethex(c, "group_id", &ng);
    member m[MAXL];
    memset(m, 0, sizeof m);
    mls_tree *tree = NULL;
    const char *why = NULL;
    if (!rt || mls_tree_decode(rt, nt, &tree))
        why = "tree does not decode";
    if (!why)
        why = setup_members(c, tree, m);
    const json *ups = json_get(c, "update_paths");
    for (size_t u = 0; !why && u < json_len(ups); u++) {
        const json *x = json_at(ups, u);
        uint32_t sender = (uint32_t)json_getu(x, "sender");
        size_t nu;
        uint8_t *upb = json_gethex(x, "update_path", &nu), cs[MLS_HASH_LEN];
        mls_update_path up = {0};
        if (!upb || mls_update_path_decode(upb, nu, &up) || !hexget(x, "commit_secret", cs, sizeof cs))
            why = "update path does not decode";
        if (!why)
            why = receive_all(c, tree, m, sender, &up, cs, json_get(x, "path_secrets"),
                              json_get(x, "tree_hash_after"));
        mls_update_path_free(&up);
        free(upb);
        if (why || sender >= MAXL || !m[sender].present)
            continue;
        /* a new path from the same sender */
        mls_tree *t = NULL;
        mls_signer *s = NULL;
        mls_treekem_secrets sec;
        mls_privs p = {0};
        sp_buf ctx = SP_BUF_INIT;
        sp_slice g = {gid, ng};
        if (mls_tree_clone(tree, &t) || mls_signer_new(m[sender].sig_priv, &s) ||
            mls_treekem_create(t, mls_leaf(sender), mls_tree_leaf(tree, mls_leaf(sender)), s, g,
                               NULL, &sec, &p) ||
            ctx_bytes(c, t, &ctx) ||
            mls_treekem_encrypt(t, mls_leaf(sender), &sec, ctx.data, ctx.len, NULL, 0, NULL, &up))
            why = "creating a path failed";
        if (!why)
            why = receive_all(c, tree, m, sender, &up, sec.commit_secret, NULL, NULL);
        mls_treekem_secrets_wipe(&sec);
        mls_update_path_free(&up);
        mls_privs_free(&p);
        sp_buf_free(&ctx);
        mls_signer_free(s);
        mls_tree_free(t);
    }
    for (size_t i = 0; i < MAXL; i++)
        mls_privs_free(&m[i].privs);
    mls_tree_free(tree);
    free(rt);
    free(gid);
    return why;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const char *why = one(json_at(root, i));
        vec_case(st, i, why == NULL, why);
    }
}

MLS_VECTOR_CATEGORY("treekem", run)
