/* ratchet_tree.c — the public ratchet tree: nodes, changes, resolutions,
 * tree hashes with a per-node cache, parent hashes and tree validation
 * (RFC 9420 §4, §7). Trees here always have a power-of-two number of leaves,
 * so the index arithmetic is the plain full-tree bit math below. */
#include "mls/ratchet_tree.h"

#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/parallel.h"
#include "mls/tls.h"

#define TRY(x)                \
    do {                      \
        sp_err e_ = (x);      \
        if (e_ != SP_OK)      \
            return e_;        \
    } while (0)

/* An immutable, shared node: replaced, never edited, once in a tree. */
typedef struct {
    int refs;
    mls_tree_node n;
} rnode;

struct mls_tree {
    uint32_t n_leaves; /* 0 or a power of two */
    rnode **nodes;     /* width slots; NULL = blank */
    uint8_t (*hash)[MLS_HASH_LEN];
    uint8_t *hvalid;
};

/* ---- full-tree index math ---------------------------------------------------------- */

static inline uint32_t level(uint32_t x) { return (uint32_t)__builtin_ctz(~x); }
static inline uint32_t width(uint32_t n) { return n ? 2 * n - 1 : 0; }
static inline uint32_t root(uint32_t n) { return n - 1; }
static inline uint32_t left(uint32_t x) { return x ^ (1u << (level(x) - 1)); }
static inline uint32_t right(uint32_t x) { return x ^ (3u << (level(x) - 1)); }
static inline uint32_t parent(uint32_t x)
{
    uint32_t k = level(x), b = (x >> (k + 1)) & 1;
    return (x | (1u << k)) ^ (b << (k + 1));
}
static inline uint32_t sibling(uint32_t x)
{
    uint32_t p = parent(x);
    return x < p ? right(p) : left(p);
}
/* Is leaf node index x under node n (or n itself)? */
static inline int covers(uint32_t n, uint32_t x)
{
    uint32_t span = (1u << level(n)) - 1;
    return x + span >= n && x <= n + span;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static rnode *rnode_new(void)
{
    rnode *r = calloc(1, sizeof *r);
    if (r)
        r->refs = 1;
    return r;
}

static void rnode_unref(rnode *r)
{
    if (r && --r->refs == 0) {
        mls_tree_node_free(&r->n);
        free(r);
    }
}

static sp_err parent_copy(const mls_parent_node *in, mls_parent_node *out, size_t extra)
{
    memset(out, 0, sizeof *out);
    TRY(mls_bytes_set(&out->encryption_key, in->encryption_key.data, in->encryption_key.len));
    TRY(mls_bytes_set(&out->parent_hash, in->parent_hash.data, in->parent_hash.len));
    if (in->n_unmerged + extra) {
        out->unmerged_leaves = malloc((in->n_unmerged + extra) * sizeof(uint32_t));
        if (!out->unmerged_leaves)
            return SP_ERR_NOMEM;
        if (in->n_unmerged)
            memcpy(out->unmerged_leaves, in->unmerged_leaves, in->n_unmerged * sizeof(uint32_t));
        out->n_unmerged = in->n_unmerged;
    }
    return SP_OK;
}

/* Marks n and its ancestors as needing a new tree hash. */
static void invalidate(mls_tree *t, uint32_t n)
{
    uint32_t r = root(t->n_leaves);
    for (;;) {
        t->hvalid[n] = 0;
        if (n == r)
            break;
        n = parent(n);
    }
}

/* Puts r (owned) in slot n, releasing what was there. */
static void put(mls_tree *t, uint32_t n, rnode *r)
{
    rnode_unref(t->nodes[n]);
    t->nodes[n] = r;
    invalidate(t, n);
}

static sp_err resize(mls_tree *t, uint32_t n_leaves)
{
    uint32_t ow = width(t->n_leaves), nw = width(n_leaves);
    for (uint32_t i = nw; i < ow; i++)
        rnode_unref(t->nodes[i]);
    if (nw > ow) {
        rnode **nodes = realloc(t->nodes, nw * sizeof *nodes);
        if (!nodes)
            return SP_ERR_NOMEM;
        t->nodes = nodes;
        uint8_t (*hash)[MLS_HASH_LEN] = realloc(t->hash, nw * sizeof *hash);
        if (!hash)
            return SP_ERR_NOMEM;
        t->hash = hash;
        uint8_t *hv = realloc(t->hvalid, nw);
        if (!hv)
            return SP_ERR_NOMEM;
        t->hvalid = hv;
        memset(t->nodes + ow, 0, (nw - ow) * sizeof *nodes);
        memset(t->hvalid + ow, 0, nw - ow);
    }
    t->n_leaves = n_leaves;
    if (n_leaves)
        invalidate(t, root(n_leaves)); /* a new root (growing) or no longer a root */
    return SP_OK;
}

sp_err mls_tree_new(mls_tree **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? SP_OK : SP_ERR_NOMEM;
}

void mls_tree_free(mls_tree *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < width(t->n_leaves); i++)
        rnode_unref(t->nodes[i]);
    free(t->nodes);
    free(t->hash);
    free(t->hvalid);
    free(t);
}

sp_err mls_tree_clone(const mls_tree *t, mls_tree **out)
{
    mls_tree *c;
    TRY(mls_tree_new(&c));
    uint32_t w = width(t->n_leaves);
    if (w) {
        c->nodes = malloc(w * sizeof *c->nodes);
        c->hash = malloc(w * sizeof *c->hash);
        c->hvalid = malloc(w);
        if (!c->nodes || !c->hash || !c->hvalid) {
            free(c->nodes);
            free(c->hash);
            free(c->hvalid);
            free(c);
            return SP_ERR_NOMEM;
        }
        memcpy(c->nodes, t->nodes, w * sizeof *c->nodes);
        memcpy(c->hash, t->hash, w * sizeof *c->hash);
        memcpy(c->hvalid, t->hvalid, w);
        for (uint32_t i = 0; i < w; i++)
            if (c->nodes[i])
                c->nodes[i]->refs++;
    }
    c->n_leaves = t->n_leaves;
    *out = c;
    return SP_OK;
}

/* ---- encoding --------------------------------------------------------------------------- */

sp_err mls_tree_decode(const uint8_t *p, size_t n, mls_tree **out)
{
    *out = NULL;
    mls_ratchet_tree rt;
    TRY(mls_ratchet_tree_decode(p, n, &rt));
    uint32_t L = 1;
    while (width(L) < rt.n && L < MLS_MAX_LEAVES)
        L *= 2;
    mls_tree *t = NULL;
    sp_err e = width(L) >= rt.n ? mls_tree_new(&t) : SP_ERR_TOO_LARGE;
    if (!e)
        e = resize(t, L);
    for (size_t i = 0; !e && i < rt.n; i++) {
        if (rt.nodes[i].type == MLS_NODE_BLANK)
            continue;
        rnode *r = rnode_new();
        if (!r) {
            e = SP_ERR_NOMEM;
            break;
        }
        r->n = rt.nodes[i]; /* moved */
        memset(&rt.nodes[i], 0, sizeof rt.nodes[i]);
        t->nodes[i] = r;
    }
    /* unmerged leaves must be real leaves below their parent, listed once */
    for (uint32_t i = 1; !e && i < width(L); i += 2) {
        const mls_parent_node *pn = mls_tree_parent(t, mls_node(i));
        for (size_t j = 0; pn && !e && j < pn->n_unmerged; j++) {
            uint32_t u = pn->unmerged_leaves[j];
            if (u >= L || !covers(i, 2 * u) || !t->nodes[2 * u])
                e = SP_ERR_INVALID;
            for (size_t k = 0; k < j; k++)
                if (pn->unmerged_leaves[k] == u)
                    e = SP_ERR_INVALID;
        }
    }
    mls_ratchet_tree_free(&rt);
    if (e) {
        mls_tree_free(t);
        return e;
    }
    *out = t;
    return SP_OK;
}

sp_err mls_tree_encode(const mls_tree *t, sp_buf *b)
{
    uint32_t w = width(t->n_leaves), last = 0;
    int any = 0;
    for (uint32_t i = 0; i < w; i++)
        if (t->nodes[i]) {
            last = i;
            any = 1;
        }
    if (!any)
        return SP_ERR_STATE;
    /* a borrowed view: the codec only reads the nodes */
    mls_ratchet_tree rt = {calloc(last + 1, sizeof(mls_tree_node)), last + 1};
    if (!rt.nodes)
        return SP_ERR_NOMEM;
    for (uint32_t i = 0; i <= last; i++)
        if (t->nodes[i])
            rt.nodes[i] = t->nodes[i]->n;
    sp_err e = mls_ratchet_tree_write(b, &rt);
    free(rt.nodes);
    return e;
}

/* ---- accessors ---------------------------------------------------------------------------- */

uint32_t mls_tree_n_leaves(const mls_tree *t) { return t->n_leaves; }
uint32_t mls_tree_width(const mls_tree *t) { return width(t->n_leaves); }

int mls_tree_blank(const mls_tree *t, mls_node_idx n)
{
    return n.v >= width(t->n_leaves) || !t->nodes[n.v];
}

const mls_leaf_node *mls_tree_leaf(const mls_tree *t, mls_leaf_idx l)
{
    if (l.v >= t->n_leaves || !t->nodes[2 * l.v])
        return NULL;
    return &t->nodes[2 * l.v]->n.leaf;
}

const mls_parent_node *mls_tree_parent(const mls_tree *t, mls_node_idx n)
{
    if (n.v >= width(t->n_leaves) || !(n.v & 1) || !t->nodes[n.v])
        return NULL;
    return &t->nodes[n.v]->n.parent;
}

sp_slice mls_tree_enc_key(const mls_tree *t, mls_node_idx n)
{
    sp_slice s = {NULL, 0};
    if (n.v >= width(t->n_leaves) || !t->nodes[n.v])
        return s;
    const mls_tree_node *x = &t->nodes[n.v]->n;
    return x->type == MLS_NODE_LEAF ? mls_bytes_slice(&x->leaf.encryption_key)
                                    : mls_bytes_slice(&x->parent.encryption_key);
}

/* ---- changes --------------------------------------------------------------------------------- */

static sp_err put_leaf(mls_tree *t, uint32_t l, mls_leaf_node *leaf)
{
    rnode *r = rnode_new();
    if (!r)
        return SP_ERR_NOMEM;
    r->n.type = MLS_NODE_LEAF;
    r->n.leaf = *leaf;
    memset(leaf, 0, sizeof *leaf);
    put(t, 2 * l, r);
    return SP_OK;
}

static void blank_path(mls_tree *t, uint32_t l)
{
    uint32_t n = 2 * l, r = root(t->n_leaves);
    while (n != r) {
        n = parent(n);
        if (t->nodes[n])
            put(t, n, NULL);
    }
}

sp_err mls_tree_add(mls_tree *t, mls_leaf_node *leaf, mls_leaf_idx *where)
{
    uint32_t l = 0;
    while (l < t->n_leaves && t->nodes[2 * l])
        l++;
    if (l == t->n_leaves) {
        if (t->n_leaves >= MLS_MAX_LEAVES / 2)
            return SP_ERR_TOO_LARGE;
        TRY(resize(t, t->n_leaves ? 2 * t->n_leaves : 1));
    }
    /* new unmerged lists first, so a failure leaves the tree as it was */
    uint32_t r = root(t->n_leaves), n = 2 * l;
    while (n != r) {
        n = parent(n);
        if (!t->nodes[n])
            continue;
        rnode *c = rnode_new();
        if (!c)
            return SP_ERR_NOMEM;
        c->n.type = MLS_NODE_PARENT;
        sp_err e = parent_copy(&t->nodes[n]->n.parent, &c->n.parent, 1);
        if (e) {
            rnode_unref(c);
            return e;
        }
        c->n.parent.unmerged_leaves[c->n.parent.n_unmerged++] = l;
        put(t, n, c);
    }
    TRY(put_leaf(t, l, leaf));
    if (where)
        *where = mls_leaf(l);
    return SP_OK;
}

sp_err mls_tree_update(mls_tree *t, mls_leaf_idx l, mls_leaf_node *leaf)
{
    if (l.v >= t->n_leaves || !t->nodes[2 * l.v])
        return SP_ERR_INVALID;
    TRY(put_leaf(t, l.v, leaf));
    blank_path(t, l.v);
    return SP_OK;
}

sp_err mls_tree_set_leaf(mls_tree *t, mls_leaf_idx l, mls_leaf_node *leaf)
{
    if (l.v >= t->n_leaves)
        return SP_ERR_INVALID;
    return put_leaf(t, l.v, leaf);
}

sp_err mls_tree_remove(mls_tree *t, mls_leaf_idx l)
{
    if (l.v >= t->n_leaves || !t->nodes[2 * l.v])
        return SP_ERR_INVALID;
    put(t, 2 * l.v, NULL);
    blank_path(t, l.v);
    mls_tree_truncate(t);
    return SP_OK;
}

void mls_tree_truncate(mls_tree *t)
{
    while (t->n_leaves > 1) {
        uint32_t half = t->n_leaves / 2;
        for (uint32_t l = half; l < t->n_leaves; l++)
            if (t->nodes[2 * l])
                return;
        resize(t, half); /* shrinking never allocates */
    }
}

sp_err mls_tree_set_parent(mls_tree *t, mls_node_idx n, const uint8_t *enc_key, size_t key_len,
                           const uint8_t *parent_hash, size_t ph_len)
{
    if (n.v >= width(t->n_leaves) || !(n.v & 1))
        return SP_ERR_INVALID;
    rnode *r = rnode_new();
    if (!r)
        return SP_ERR_NOMEM;
    r->n.type = MLS_NODE_PARENT;
    sp_err e = mls_bytes_set(&r->n.parent.encryption_key, enc_key, key_len);
    if (!e)
        e = mls_bytes_set(&r->n.parent.parent_hash, parent_hash, ph_len);
    if (e) {
        rnode_unref(r);
        return e;
    }
    put(t, n.v, r);
    return SP_OK;
}

sp_err mls_tree_blank_node(mls_tree *t, mls_node_idx n)
{
    if (n.v >= width(t->n_leaves))
        return SP_ERR_INVALID;
    if (t->nodes[n.v])
        put(t, n.v, NULL);
    return SP_OK;
}

/* ---- structure ----------------------------------------------------------------------------------- */

static int nonempty(const mls_tree *t, uint32_t n)
{
    if (t->nodes[n])
        return 1;
    if (!(n & 1))
        return 0;
    return nonempty(t, left(n)) || nonempty(t, right(n));
}

size_t mls_tree_resolution_size(const mls_tree *t, mls_node_idx n)
{
    if (n.v >= width(t->n_leaves))
        return 0;
    rnode *r = t->nodes[n.v];
    if (r)
        return 1 + (r->n.type == MLS_NODE_PARENT ? r->n.parent.n_unmerged : 0);
    if (!(n.v & 1))
        return 0;
    return mls_tree_resolution_size(t, mls_node(left(n.v))) +
           mls_tree_resolution_size(t, mls_node(right(n.v)));
}

static void resolve(const mls_tree *t, uint32_t n, mls_node_idx *out, size_t *k)
{
    rnode *r = t->nodes[n];
    if (r) {
        out[(*k)++] = mls_node(n);
        if (r->n.type == MLS_NODE_PARENT)
            for (size_t i = 0; i < r->n.parent.n_unmerged; i++)
                out[(*k)++] = mls_node(2 * r->n.parent.unmerged_leaves[i]);
        return;
    }
    if (n & 1) {
        resolve(t, left(n), out, k);
        resolve(t, right(n), out, k);
    }
}

sp_err mls_tree_resolution(const mls_tree *t, mls_node_idx n, mls_node_idx **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (n.v >= width(t->n_leaves))
        return SP_ERR_INVALID;
    size_t sz = mls_tree_resolution_size(t, n);
    if (!sz)
        return SP_OK;
    *out = malloc(sz * sizeof **out);
    if (!*out)
        return SP_ERR_NOMEM;
    resolve(t, n.v, *out, count);
    return SP_OK;
}

sp_err mls_tree_filtered_path(const mls_tree *t, mls_leaf_idx l, mls_node_idx *path,
                              mls_node_idx *copath, size_t cap, size_t *count)
{
    *count = 0;
    if (l.v >= t->n_leaves)
        return SP_ERR_INVALID;
    uint32_t n = 2 * l.v, r = root(t->n_leaves);
    while (n != r) {
        uint32_t s = sibling(n);
        n = parent(n);
        if (!nonempty(t, s))
            continue;
        if (*count >= cap)
            return SP_ERR_TOO_LARGE;
        path[*count] = mls_node(n);
        copath[*count] = mls_node(s);
        (*count)++;
    }
    return SP_OK;
}

/* ---- tree hashes (§7.8) ------------------------------------------------------------------------------ */

static sp_err hash_buf(sp_buf *b, uint8_t out[MLS_HASH_LEN])
{
    if (b->failed)
        return SP_ERR_NOMEM;
    return mls_hash(b->data, b->len, out);
}

static sp_err node_hash(mls_tree *t, uint32_t n, uint8_t out[MLS_HASH_LEN])
{
    if (t->hvalid[n]) {
        memcpy(out, t->hash[n], MLS_HASH_LEN);
        return SP_OK;
    }
    sp_buf b = SP_BUF_INIT;
    sp_err e = SP_OK;
    rnode *r = t->nodes[n];
    if (!(n & 1)) {
        sp_buf_put_u8(&b, MLS_NODE_LEAF);
        sp_buf_put_u32(&b, n / 2);
        sp_buf_put_u8(&b, r ? 1 : 0);
        if (r)
            e = mls_leaf_node_write(&b, &r->n.leaf);
    } else {
        uint8_t lh[MLS_HASH_LEN], rh[MLS_HASH_LEN];
        e = node_hash(t, left(n), lh);
        if (!e)
            e = node_hash(t, right(n), rh);
        sp_buf_put_u8(&b, MLS_NODE_PARENT);
        sp_buf_put_u8(&b, r ? 1 : 0);
        if (!e && r)
            e = mls_parent_node_write(&b, &r->n.parent);
        mls_put_opaque(&b, lh, MLS_HASH_LEN);
        mls_put_opaque(&b, rh, MLS_HASH_LEN);
    }
    if (!e)
        e = hash_buf(&b, out);
    sp_buf_free(&b);
    if (!e) {
        memcpy(t->hash[n], out, MLS_HASH_LEN);
        t->hvalid[n] = 1;
    }
    return e;
}

sp_err mls_tree_node_hash(mls_tree *t, mls_node_idx n, uint8_t out[MLS_HASH_LEN])
{
    if (n.v >= width(t->n_leaves))
        return SP_ERR_INVALID;
    return node_hash(t, n.v, out);
}

sp_err mls_tree_root_hash(mls_tree *t, uint8_t out[MLS_HASH_LEN])
{
    if (!t->n_leaves)
        return SP_ERR_STATE;
    return node_hash(t, root(t->n_leaves), out);
}

static int excluded(const uint32_t *ex, size_t n_ex, uint32_t leaf)
{
    for (size_t i = 0; i < n_ex; i++)
        if (ex[i] == leaf)
            return 1;
    return 0;
}

/* The tree hash of n with the leaves ex[] removed (blank, and out of every
 * unmerged list): the "original" tree hash of §7.9. */
static sp_err orig_hash(mls_tree *t, uint32_t n, const uint32_t *ex, size_t n_ex,
                        uint8_t out[MLS_HASH_LEN])
{
    int touched = 0;
    for (size_t i = 0; i < n_ex && !touched; i++)
        touched = covers(n, 2 * ex[i]);
    if (!touched)
        return node_hash(t, n, out);
    sp_buf b = SP_BUF_INIT;
    sp_err e = SP_OK;
    rnode *r = t->nodes[n];
    if (!(n & 1)) {
        sp_buf_put_u8(&b, MLS_NODE_LEAF);
        sp_buf_put_u32(&b, n / 2);
        sp_buf_put_u8(&b, 0); /* the only leaf covered is an excluded one */
    } else {
        uint8_t lh[MLS_HASH_LEN], rh[MLS_HASH_LEN];
        e = orig_hash(t, left(n), ex, n_ex, lh);
        if (!e)
            e = orig_hash(t, right(n), ex, n_ex, rh);
        sp_buf_put_u8(&b, MLS_NODE_PARENT);
        sp_buf_put_u8(&b, r ? 1 : 0);
        if (r) {
            const mls_parent_node *p = &r->n.parent;
            mls_put_opaque(&b, p->encryption_key.data, p->encryption_key.len);
            mls_put_opaque(&b, p->parent_hash.data, p->parent_hash.len);
            size_t s = mls_vec_begin(&b);
            for (size_t i = 0; i < p->n_unmerged; i++)
                if (!excluded(ex, n_ex, p->unmerged_leaves[i]))
                    sp_buf_put_u32(&b, p->unmerged_leaves[i]);
            if (!e)
                e = mls_vec_end(&b, s);
        }
        mls_put_opaque(&b, lh, MLS_HASH_LEN);
        mls_put_opaque(&b, rh, MLS_HASH_LEN);
    }
    if (!e)
        e = hash_buf(&b, out);
    sp_buf_free(&b);
    return e;
}

sp_err mls_tree_parent_hash_of(mls_tree *t, mls_node_idx p, mls_node_idx sib,
                               uint8_t out[MLS_HASH_LEN])
{
    const mls_parent_node *pn = mls_tree_parent(t, p);
    if (!pn || sib.v >= width(t->n_leaves))
        return SP_ERR_INVALID;
    uint8_t sh[MLS_HASH_LEN];
    TRY(orig_hash(t, sib.v, pn->unmerged_leaves, pn->n_unmerged, sh));
    sp_buf b = SP_BUF_INIT;
    mls_put_opaque(&b, pn->encryption_key.data, pn->encryption_key.len);
    mls_put_opaque(&b, pn->parent_hash.data, pn->parent_hash.len);
    mls_put_opaque(&b, sh, MLS_HASH_LEN);
    sp_err e = hash_buf(&b, out);
    sp_buf_free(&b);
    return e;
}

sp_err mls_tree_set_path_parent_hashes(mls_tree *t, mls_leaf_idx l, uint8_t leaf_ph[MLS_HASH_LEN])
{
    mls_node_idx path[32], cop[32];
    size_t k;
    TRY(mls_tree_filtered_path(t, l, path, cop, 32, &k));
    uint8_t ph[MLS_HASH_LEN];
    size_t ph_len = 0;
    for (size_t i = k; i-- > 0;) {
        const mls_parent_node *pn = mls_tree_parent(t, path[i]);
        if (!pn)
            return SP_ERR_STATE;
        TRY(mls_tree_set_parent(t, path[i], pn->encryption_key.data, pn->encryption_key.len, ph,
                                ph_len));
        TRY(mls_tree_parent_hash_of(t, path[i], cop[i], ph));
        ph_len = MLS_HASH_LEN;
    }
    if (!ph_len)
        return SP_ERR_STATE; /* a one-member tree has no path */
    memcpy(leaf_ph, ph, MLS_HASH_LEN);
    return SP_OK;
}

static const mls_bytes *node_parent_hash(const mls_tree *t, uint32_t n)
{
    rnode *r = t->nodes[n];
    if (!r)
        return NULL;
    if (r->n.type == MLS_NODE_PARENT)
        return &r->n.parent.parent_hash;
    return r->n.leaf.source == MLS_LEAF_SOURCE_COMMIT ? &r->n.leaf.parent_hash : NULL;
}

/* Does some node in the resolution of child carry parent hash ph? */
static int has_parent_hash(const mls_tree *t, uint32_t child, const uint8_t ph[MLS_HASH_LEN])
{
    const mls_bytes *h = node_parent_hash(t, child);
    if (t->nodes[child])
        return h && h->len == MLS_HASH_LEN && memcmp(h->data, ph, MLS_HASH_LEN) == 0;
    if (!(child & 1))
        return 0;
    return has_parent_hash(t, left(child), ph) || has_parent_hash(t, right(child), ph);
}

sp_err mls_tree_verify_parent_hashes(mls_tree *t)
{
    for (uint32_t p = 1; p < width(t->n_leaves); p += 2) {
        if (!t->nodes[p])
            continue;
        uint8_t lh[MLS_HASH_LEN], rh[MLS_HASH_LEN];
        uint32_t l = left(p), r = right(p);
        TRY(mls_tree_parent_hash_of(t, mls_node(p), mls_node(r), lh));
        TRY(mls_tree_parent_hash_of(t, mls_node(p), mls_node(l), rh));
        if (!has_parent_hash(t, l, lh) && !has_parent_hash(t, r, rh))
            return SP_ERR_CRYPTO;
    }
    return SP_OK;
}

/* ---- validation (§7.3, §7.9.2, §12.4.3.1) ------------------------------------------------------------------ */

static int cmp_key(const void *a, const void *b)
{
    const mls_bytes *x = *(const mls_bytes *const *)a, *y = *(const mls_bytes *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->len ? memcmp(x->data, y->data, x->len) : 0;
}

/* No two of keys[0..n) are equal. */
static sp_err all_distinct(const mls_bytes **keys, size_t n)
{
    qsort(keys, n, sizeof *keys, cmp_key);
    for (size_t i = 1; i < n; i++)
        if (cmp_key(&keys[i - 1], &keys[i]) == 0)
            return SP_ERR_INVALID;
    return SP_OK;
}

static int lists(const mls_u16_list *l, uint16_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 1;
    return 0;
}

sp_err mls_tree_leaf_verify(const mls_leaf_node *leaf, sp_slice group_id, uint32_t leaf_index)
{
    if (leaf->signature_key.len != MLS_SIG_PUB_LEN ||
        leaf->encryption_key.len != MLS_KEM_PUB_LEN)
        return SP_ERR_INVALID;
    if (!lists(&leaf->capabilities.versions, MLS_VERSION_10) ||
        !lists(&leaf->capabilities.cipher_suites, MLS_CIPHER_SUITE) ||
        !lists(&leaf->capabilities.credentials, leaf->credential.type))
        return SP_ERR_INVALID;
    /* every non-default extension the leaf carries is one it declares */
    for (size_t i = 0; i < leaf->extensions.n; i++) {
        uint16_t ty = leaf->extensions.v[i].type;
        if (ty > MLS_EXT_EXTERNAL_SENDERS && !lists(&leaf->capabilities.extensions, ty))
            return SP_ERR_INVALID;
    }
    sp_buf b = SP_BUF_INIT;
    sp_err e = mls_leaf_node_write_tbs(&b, leaf, group_id, leaf_index);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_verify_with_label(leaf->signature_key.data, "LeafNodeTBS", b.data, b.len,
                                  leaf->signature.data, leaf->signature.len);
    sp_buf_free(&b);
    return e;
}

/* The leaves' checks (a signature verification each: most of a join's cost),
 * run before the tree walk on several threads. */
typedef struct {
    const mls_tree *t;
    sp_slice group_id;
    sp_err *verdict; /* per leaf */
} leaf_checks;

static sp_err check_leaf(void *arg, size_t l)
{
    leaf_checks *c = arg;
    const rnode *r = c->t->nodes[2 * l];
    if (r && r->n.type == MLS_NODE_LEAF)
        c->verdict[l] = mls_tree_leaf_verify(&r->n.leaf, c->group_id, (uint32_t)l);
    return SP_OK; /* every verdict is wanted: the walk reports them in tree order */
}

sp_err mls_tree_validate(mls_tree *t, sp_slice group_id)
{
    uint32_t w = width(t->n_leaves);
    if (!w)
        return SP_ERR_INVALID;
    const mls_bytes **enc = malloc(w * sizeof *enc), **sig = malloc(t->n_leaves * sizeof *sig);
    sp_err *verdict = calloc(t->n_leaves, sizeof *verdict);
    size_t n_enc = 0, n_sig = 0;
    sp_err e = enc && sig && verdict ? SP_OK : SP_ERR_NOMEM;
    if (!e) {
        leaf_checks c = {t, group_id, verdict};
        mls_parallel_for(t->n_leaves, check_leaf, &c);
    }
    for (uint32_t i = 0; !e && i < w; i++) {
        rnode *r = t->nodes[i];
        if (!r)
            continue;
        if (r->n.type == MLS_NODE_LEAF) {
            e = verdict[i / 2];
            enc[n_enc++] = &r->n.leaf.encryption_key;
            sig[n_sig++] = &r->n.leaf.signature_key;
            continue;
        }
        const mls_parent_node *p = &r->n.parent;
        if (p->encryption_key.len != MLS_KEM_PUB_LEN)
            e = SP_ERR_INVALID;
        enc[n_enc++] = &p->encryption_key;
        /* an unmerged leaf of p is unmerged at every non-blank node between */
        for (size_t j = 0; !e && j < p->n_unmerged; j++) {
            uint32_t u = p->unmerged_leaves[j], x = parent(2 * u);
            for (; !e && x != i; x = parent(x)) {
                const mls_parent_node *q = mls_tree_parent(t, mls_node(x));
                int found = !q;
                for (size_t k = 0; q && k < q->n_unmerged; k++)
                    found |= q->unmerged_leaves[k] == u;
                if (!found)
                    e = SP_ERR_INVALID;
            }
        }
    }
    if (!e)
        e = all_distinct(enc, n_enc);
    if (!e)
        e = all_distinct(sig, n_sig);
    free(enc);
    free(sig);
    free(verdict);
    if (!e)
        e = mls_tree_verify_parent_hashes(t);
    return e;
}

sp_err mls_tree_find_sig_key(const mls_tree *t, const uint8_t *key, size_t len, mls_leaf_idx *out)
{
    for (uint32_t l = 0; l < t->n_leaves; l++) {
        const mls_leaf_node *lf = mls_tree_leaf(t, mls_leaf(l));
        if (lf && lf->signature_key.len == len && memcmp(lf->signature_key.data, key, len) == 0) {
            *out = mls_leaf(l);
            return SP_OK;
        }
    }
    return SP_ERR_NOT_FOUND;
}
