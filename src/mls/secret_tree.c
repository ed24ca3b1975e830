/* secret_tree.c — RFC 9420 §9 secret tree and hash ratchets. See secret_tree.h.
 *
 * State is kept sparse, because a group may be large while only a few members
 * speak in an epoch: `nodes` holds the tree secrets not yet split (at first
 * only the root), sorted by node index; `leaves` holds the ratchets of the
 * leaves used so far, sorted by leaf index. Both are binary-searched. */
#include "mls/secret_tree.h"

#include <stdlib.h>
#include <string.h>

#include "mls/tls.h"

typedef struct {
    uint32_t node;
    uint8_t secret[MLS_HASH_LEN];
} node_secret;

typedef struct {
    uint64_t next_gen; /* generation of `secret`; 2^32 once exhausted */
    uint8_t secret[MLS_HASH_LEN];
    mls_ratchet_key *skipped; /* generations < next_gen not yet handed out, ascending */
    size_t n_skipped, cap_skipped;
} ratchet;

typedef struct {
    uint32_t leaf;
    ratchet r[2]; /* indexed by mls_ratchet_type */
} leaf_state;

struct mls_secret_tree {
    uint32_t n_leaves;
    mls_secret_tree_limits limits;
    node_secret *nodes;
    size_t n_nodes, cap_nodes;
    leaf_state *leaves;
    size_t n_used, cap_used;
};

#define GEN_LIMIT ((uint64_t)1 << 32)

/* ---- helpers ------------------------------------------------------------------ */

static int is_pow2(uint32_t x) { return x && !(x & (x - 1)); }

/* Grows an array of `size`-byte items to hold `need`; new memory is zeroed.
 * The old block is wiped before it is released since it holds secrets. */
static sp_err grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return SP_OK;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size) return SP_ERR_NOMEM;
        ncap *= 2;
    }
    void *n = calloc(ncap, size);
    if (!n) return SP_ERR_NOMEM;
    if (*arr) {
        memcpy(n, *arr, *cap * size);
        mls_wipe(*arr, *cap * size);
        free(*arr);
    }
    *arr = n;
    *cap = ncap;
    return SP_OK;
}

/* Index of the first node entry >= node. */
static size_t node_lower(const mls_secret_tree *t, uint32_t node)
{
    size_t lo = 0, hi = t->n_nodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->nodes[mid].node < node) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static size_t leaf_lower(const mls_secret_tree *t, uint32_t leaf)
{
    size_t lo = 0, hi = t->n_used;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->leaves[mid].leaf < leaf) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void node_remove(mls_secret_tree *t, size_t i)
{
    mls_wipe(t->nodes[i].secret, MLS_HASH_LEN);
    memmove(&t->nodes[i], &t->nodes[i + 1], (t->n_nodes - i - 1) * sizeof *t->nodes);
    t->n_nodes--;
    mls_wipe(&t->nodes[t->n_nodes], sizeof *t->nodes);
}

/* Inserts (node, secret); capacity must already be there. */
static void node_insert(mls_secret_tree *t, uint32_t node, const uint8_t secret[MLS_HASH_LEN])
{
    size_t i = node_lower(t, node);
    memmove(&t->nodes[i + 1], &t->nodes[i], (t->n_nodes - i) * sizeof *t->nodes);
    t->nodes[i].node = node;
    memcpy(t->nodes[i].secret, secret, MLS_HASH_LEN);
    t->n_nodes++;
}

static void ratchet_wipe(ratchet *r)
{
    if (r->skipped) {
        mls_wipe(r->skipped, r->cap_skipped * sizeof *r->skipped);
        free(r->skipped);
    }
    mls_wipe(r, sizeof *r);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static sp_err tree_alloc(uint32_t n_leaves, const mls_secret_tree_limits *limits,
                         mls_secret_tree **out)
{
    *out = NULL;
    if (!is_pow2(n_leaves) || n_leaves > MLS_MAX_LEAVES) return SP_ERR_INVALID;
    mls_secret_tree *t = calloc(1, sizeof *t);
    if (!t) return SP_ERR_NOMEM;
    t->n_leaves = n_leaves;
    t->limits.max_forward = limits ? limits->max_forward : MLS_SECRET_TREE_DEFAULT_FORWARD;
    t->limits.max_past = limits ? limits->max_past : MLS_SECRET_TREE_DEFAULT_PAST;
    *out = t;
    return SP_OK;
}

sp_err mls_secret_tree_new(const uint8_t encryption_secret[MLS_HASH_LEN], uint32_t n_leaves,
                           const mls_secret_tree_limits *limits, mls_secret_tree **out)
{
    if (!encryption_secret || !out) return SP_ERR_INVALID;
    sp_err err = tree_alloc(n_leaves, limits, out);
    if (err) return err;
    mls_secret_tree *t = *out;
    err = grow((void **)&t->nodes, &t->cap_nodes, 1, sizeof *t->nodes);
    if (err) {
        mls_secret_tree_free(t);
        *out = NULL;
        return err;
    }
    node_insert(t, mls_tm_root(n_leaves).v, encryption_secret);
    return SP_OK;
}

void mls_secret_tree_free(mls_secret_tree *t)
{
    if (!t) return;
    if (t->nodes) {
        mls_wipe(t->nodes, t->cap_nodes * sizeof *t->nodes);
        free(t->nodes);
    }
    for (size_t i = 0; i < t->n_used; i++) {
        ratchet_wipe(&t->leaves[i].r[0]);
        ratchet_wipe(&t->leaves[i].r[1]);
    }
    if (t->leaves) {
        mls_wipe(t->leaves, t->cap_used * sizeof *t->leaves);
        free(t->leaves);
    }
    mls_wipe(t, sizeof *t);
    free(t);
}

sp_err mls_secret_tree_dup(const mls_secret_tree *t, mls_secret_tree **out)
{
    if (!t || !out) return SP_ERR_INVALID;
    mls_secret_tree *c;
    sp_err err = tree_alloc(t->n_leaves, &t->limits, &c);
    if (err) return err;
    if (t->n_nodes) err = grow((void **)&c->nodes, &c->cap_nodes, t->n_nodes, sizeof *c->nodes);
    if (!err && t->n_nodes) {
        memcpy(c->nodes, t->nodes, t->n_nodes * sizeof *c->nodes);
        c->n_nodes = t->n_nodes;
    }
    if (!err && t->n_used) err = grow((void **)&c->leaves, &c->cap_used, t->n_used, sizeof *c->leaves);
    for (size_t i = 0; !err && i < t->n_used; i++) {
        leaf_state *d = &c->leaves[i];
        const leaf_state *s = &t->leaves[i];
        d->leaf = s->leaf;
        c->n_used++;
        for (int k = 0; !err && k < 2; k++) {
            d->r[k].next_gen = s->r[k].next_gen;
            memcpy(d->r[k].secret, s->r[k].secret, MLS_HASH_LEN);
            if (s->r[k].n_skipped)
                err = grow((void **)&d->r[k].skipped, &d->r[k].cap_skipped, s->r[k].n_skipped,
                           sizeof *d->r[k].skipped);
            if (!err && s->r[k].n_skipped) {
                memcpy(d->r[k].skipped, s->r[k].skipped, s->r[k].n_skipped * sizeof *s->r[k].skipped);
                d->r[k].n_skipped = s->r[k].n_skipped;
            }
        }
    }
    if (err) {
        mls_secret_tree_free(c);
        return err;
    }
    *out = c;
    return SP_OK;
}

/* ---- deriving a leaf ------------------------------------------------------------ */

/* Splits the stored secret nearest above `leaf` down to the leaf, keeping the
 * siblings off the path and deleting each split node, then starts the leaf's
 * two ratchets. */
static sp_err leaf_init(mls_secret_tree *t, uint32_t leaf, leaf_state **out)
{
    uint32_t target = 2 * leaf;
    /* The stored ancestor: exactly one node on the root-to-leaf path holds a
     * secret while the leaf is unused. Walk up from the leaf to find it. */
    mls_node_idx cur = mls_node(target), p;
    size_t i;
    for (;;) {
        i = node_lower(t, cur.v);
        if (i < t->n_nodes && t->nodes[i].node == cur.v) break;
        if (!mls_tm_parent(cur, t->n_leaves, &p)) return SP_ERR_INTERNAL;
        cur = p;
    }
    /* One extra entry per level at most, plus the new leaf slot. */
    sp_err err = grow((void **)&t->nodes, &t->cap_nodes, t->n_nodes + 32, sizeof *t->nodes);
    if (!err) err = grow((void **)&t->leaves, &t->cap_used, t->n_used + 1, sizeof *t->leaves);
    if (err) return err;

    uint8_t secret[MLS_HASH_LEN], left[MLS_HASH_LEN], right[MLS_HASH_LEN];
    memcpy(secret, t->nodes[i].secret, MLS_HASH_LEN);
    node_remove(t, i);
    while (cur.v != target) {
        mls_node_idx l, r;
        mls_tm_left(cur, t->n_leaves, &l);
        mls_tm_right(cur, t->n_leaves, &r);
        err = mls_expand_with_label(secret, "tree", (const uint8_t *)"left", 4, left, MLS_HASH_LEN);
        if (!err)
            err = mls_expand_with_label(secret, "tree", (const uint8_t *)"right", 5, right,
                                        MLS_HASH_LEN);
        if (err) break;
        if (target < cur.v) {
            node_insert(t, r.v, right);
            memcpy(secret, left, MLS_HASH_LEN);
            cur = l;
        } else {
            node_insert(t, l.v, left);
            memcpy(secret, right, MLS_HASH_LEN);
            cur = r;
        }
    }
    leaf_state ls;
    memset(&ls, 0, sizeof ls);
    ls.leaf = leaf;
    if (!err) err = mls_expand_with_label(secret, "handshake", NULL, 0, ls.r[0].secret, MLS_HASH_LEN);
    if (!err) err = mls_expand_with_label(secret, "application", NULL, 0, ls.r[1].secret, MLS_HASH_LEN);
    mls_wipe(secret, sizeof secret);
    mls_wipe(left, sizeof left);
    mls_wipe(right, sizeof right);
    if (err) {
        /* Only an OpenSSL failure gets here; the leaf's secret is lost with
         * the split, so the leaf is unusable rather than silently wrong. */
        mls_wipe(&ls, sizeof ls);
        return err;
    }
    size_t at = leaf_lower(t, leaf);
    memmove(&t->leaves[at + 1], &t->leaves[at], (t->n_used - at) * sizeof *t->leaves);
    t->leaves[at] = ls;
    t->n_used++;
    mls_wipe(&ls, sizeof ls);
    *out = &t->leaves[at];
    return SP_OK;
}

static sp_err find_ratchet(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                           ratchet **out)
{
    if (!t || leaf.v >= t->n_leaves || (type != MLS_RATCHET_HANDSHAKE && type != MLS_RATCHET_APPLICATION))
        return SP_ERR_INVALID;
    size_t i = leaf_lower(t, leaf.v);
    leaf_state *ls;
    if (i < t->n_used && t->leaves[i].leaf == leaf.v) {
        ls = &t->leaves[i];
    } else {
        sp_err err = leaf_init(t, leaf.v, &ls);
        if (err) return err;
    }
    *out = &ls->r[type];
    return SP_OK;
}

/* ---- ratchets ------------------------------------------------------------------- */

/* key, nonce and next secret of one generation (§9.1). */
static sp_err ratchet_step(const uint8_t secret[MLS_HASH_LEN], uint32_t gen, mls_ratchet_key *k,
                           uint8_t next[MLS_HASH_LEN])
{
    /* DeriveTreeSecret(secret, label, gen, len) for the three labels at once */
    uint8_t ctx[4] = {(uint8_t)(gen >> 24), (uint8_t)(gen >> 16), (uint8_t)(gen >> 8),
                      (uint8_t)gen};
    mls_label_out outs[3] = {
        {"key", k->key, MLS_AEAD_KEY_LEN},
        {"nonce", k->nonce, MLS_AEAD_NONCE_LEN},
        {"secret", next, MLS_HASH_LEN},
    };
    k->generation = gen;
    sp_err err = mls_expand_with_labels(secret, ctx, sizeof ctx, outs, 3);
    if (err) mls_wipe(k, sizeof *k);
    return err;
}

/* Index of `gen` among the skipped keys, or n_skipped when absent. */
static size_t skipped_find(const ratchet *r, uint32_t gen)
{
    size_t lo = 0, hi = r->n_skipped;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->skipped[mid].generation < gen) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n_skipped && r->skipped[lo].generation == gen ? lo : r->n_skipped;
}

/* Drops skipped keys that fell out of the past window. */
static void prune(ratchet *r, uint32_t max_past)
{
    uint64_t floor = r->next_gen > max_past ? r->next_gen - max_past : 0;
    size_t drop = 0;
    while (drop < r->n_skipped && r->skipped[drop].generation < floor) drop++;
    if (!drop) return;
    mls_wipe(r->skipped, drop * sizeof *r->skipped);
    memmove(r->skipped, r->skipped + drop, (r->n_skipped - drop) * sizeof *r->skipped);
    r->n_skipped -= drop;
    mls_wipe(r->skipped + r->n_skipped, drop * sizeof *r->skipped);
}

sp_err mls_secret_tree_next(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                            mls_ratchet_key *out)
{
    ratchet *r;
    if (!out) return SP_ERR_INVALID;
    sp_err err = find_ratchet(t, leaf, type, &r);
    if (err) return err;
    if (r->next_gen >= GEN_LIMIT) return SP_ERR_STATE;
    uint8_t next[MLS_HASH_LEN];
    err = ratchet_step(r->secret, (uint32_t)r->next_gen, out, next);
    if (!err) {
        memcpy(r->secret, next, MLS_HASH_LEN);
        r->next_gen++;
        prune(r, t->limits.max_past);
    }
    mls_wipe(next, sizeof next);
    return err;
}

/* A generation below the ratchet's next one: its kept key's index, or why there is none
 * (SP_ERR_STATE: older than the window; SP_ERR_EXISTS: already used). */
static sp_err past_key(const mls_secret_tree *t, const ratchet *r, uint32_t generation, size_t *idx)
{
    size_t i = skipped_find(r, generation);
    if (i < r->n_skipped) {
        *idx = i;
        return SP_OK;
    }
    uint64_t floor = r->next_gen > t->limits.max_past ? r->next_gen - t->limits.max_past : 0;
    return generation < floor ? SP_ERR_STATE : SP_ERR_EXISTS;
}

sp_err mls_secret_tree_get(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                           uint32_t generation, mls_ratchet_key *out)
{
    ratchet *r;
    if (!out) return SP_ERR_INVALID;
    sp_err err = find_ratchet(t, leaf, type, &r);
    if (err) return err;

    if (generation < r->next_gen) {
        size_t lo;
        if ((err = past_key(t, r, generation, &lo)) != SP_OK)
            return err;
        *out = r->skipped[lo];
        mls_wipe(&r->skipped[lo], sizeof r->skipped[lo]);
        memmove(&r->skipped[lo], &r->skipped[lo + 1], (r->n_skipped - lo - 1) * sizeof *r->skipped);
        r->n_skipped--;
        return SP_OK;
    }
    uint64_t ahead = generation - r->next_gen;
    if (ahead > t->limits.max_forward) return SP_ERR_TOO_LARGE;

    /* Keys of the generations jumped over that will still be inside the
     * window once the ratchet stands at generation+1. */
    uint64_t new_next = (uint64_t)generation + 1;
    uint64_t floor = new_next > t->limits.max_past ? new_next - t->limits.max_past : 0;
    uint64_t keep_from = r->next_gen > floor ? r->next_gen : floor;
    size_t n_new = keep_from < generation ? (size_t)(generation - keep_from) : 0;
    err = grow((void **)&r->skipped, &r->cap_skipped, r->n_skipped + n_new, sizeof *r->skipped);
    if (err) return err;

    /* Work on copies and commit only at the end, so a failure changes nothing. */
    uint8_t secret[MLS_HASH_LEN], next[MLS_HASH_LEN];
    memcpy(secret, r->secret, MLS_HASH_LEN);
    size_t added = 0;
    for (uint64_t g = r->next_gen; !err && g < generation; g++) {
        mls_ratchet_key k;
        err = ratchet_step(secret, (uint32_t)g, &k, next);
        if (!err && g >= keep_from) r->skipped[r->n_skipped + added++] = k;
        mls_wipe(&k, sizeof k);
        memcpy(secret, next, MLS_HASH_LEN);
    }
    if (!err) err = ratchet_step(secret, generation, out, next);
    if (!err) {
        memcpy(r->secret, next, MLS_HASH_LEN);
        r->next_gen = new_next;
        r->n_skipped += added;
        prune(r, t->limits.max_past);
    } else {
        mls_wipe(r->skipped + r->n_skipped, added * sizeof *r->skipped);
    }
    mls_wipe(secret, sizeof secret);
    mls_wipe(next, sizeof next);
    return err;
}

sp_err mls_secret_tree_peek(mls_secret_tree *t, mls_leaf_idx leaf, mls_ratchet_type type,
                            uint32_t generation, mls_ratchet_key *out)
{
    ratchet *r;
    if (!out) return SP_ERR_INVALID;
    /* Deriving the leaf's ratchets on first use is not a visible change:
     * the same secrets would be derived by any later call. */
    sp_err err = find_ratchet(t, leaf, type, &r);
    if (err) return err;
    if (generation < r->next_gen) {
        size_t i;
        if ((err = past_key(t, r, generation, &i)) != SP_OK)
            return err;
        *out = r->skipped[i];
        return SP_OK;
    }
    if (generation - r->next_gen > t->limits.max_forward) return SP_ERR_TOO_LARGE;
    uint8_t secret[MLS_HASH_LEN], next[MLS_HASH_LEN];
    mls_ratchet_key k;
    memcpy(secret, r->secret, MLS_HASH_LEN);
    for (uint64_t g = r->next_gen; !err && g < generation; g++) {
        err = ratchet_step(secret, (uint32_t)g, &k, next);
        memcpy(secret, next, MLS_HASH_LEN);
    }
    if (!err) err = ratchet_step(secret, generation, out, next);
    mls_wipe(&k, sizeof k);
    mls_wipe(secret, sizeof secret);
    mls_wipe(next, sizeof next);
    return err;
}

/* ---- persistence ----------------------------------------------------------------- */

#define STATE_VERSION 1

sp_err mls_secret_tree_encode(const mls_secret_tree *t, sp_buf *b)
{
    if (!t || !b) return SP_ERR_INVALID;
    sp_err err = sp_buf_put_u8(b, STATE_VERSION);
    if (!err) err = sp_buf_put_u32(b, t->n_leaves);
    if (!err) err = sp_buf_put_u32(b, t->limits.max_forward);
    if (!err) err = sp_buf_put_u32(b, t->limits.max_past);
    if (!err) err = sp_buf_put_u32(b, (uint32_t)t->n_nodes);
    for (size_t i = 0; !err && i < t->n_nodes; i++) {
        err = sp_buf_put_u32(b, t->nodes[i].node);
        if (!err) err = sp_buf_append(b, t->nodes[i].secret, MLS_HASH_LEN);
    }
    if (!err) err = sp_buf_put_u32(b, (uint32_t)t->n_used);
    for (size_t i = 0; !err && i < t->n_used; i++) {
        err = sp_buf_put_u32(b, t->leaves[i].leaf);
        for (int k = 0; !err && k < 2; k++) {
            const ratchet *r = &t->leaves[i].r[k];
            err = sp_buf_put_u64(b, r->next_gen);
            if (!err) err = sp_buf_append(b, r->secret, MLS_HASH_LEN);
            if (!err) err = sp_buf_put_u32(b, (uint32_t)r->n_skipped);
            for (size_t s = 0; !err && s < r->n_skipped; s++) {
                err = sp_buf_put_u32(b, r->skipped[s].generation);
                if (!err) err = sp_buf_append(b, r->skipped[s].key, MLS_AEAD_KEY_LEN);
                if (!err) err = sp_buf_append(b, r->skipped[s].nonce, MLS_AEAD_NONCE_LEN);
            }
        }
    }
    return err;
}

/* Each count is checked against the bytes left before anything is allocated. */
static int count_fits(const sp_reader *r, uint32_t count, size_t min_item)
{
    return (uint64_t)count * min_item <= sp_reader_left(r);
}

#define NODE_REC (4 + MLS_HASH_LEN)
#define SKIP_REC (4 + MLS_AEAD_KEY_LEN + MLS_AEAD_NONCE_LEN)
#define LEAF_MIN (4 + 2 * (8 + MLS_HASH_LEN + 4))

static sp_err decode_ratchet(sp_reader *rd, ratchet *r)
{
    uint32_t n;
    sp_err err = sp_read_u64(rd, &r->next_gen);
    if (!err) err = sp_read_copy(rd, r->secret, MLS_HASH_LEN);
    if (!err) err = sp_read_u32(rd, &n);
    if (err) return err;
    if (r->next_gen > GEN_LIMIT || n > r->next_gen || !count_fits(rd, n, SKIP_REC)) return SP_ERR_INVALID;
    if (n) {
        err = grow((void **)&r->skipped, &r->cap_skipped, n, sizeof *r->skipped);
        if (err) return err;
    }
    for (uint32_t s = 0; s < n; s++) {
        mls_ratchet_key *k = &r->skipped[s];
        err = sp_read_u32(rd, &k->generation);
        if (!err) err = sp_read_copy(rd, k->key, MLS_AEAD_KEY_LEN);
        if (!err) err = sp_read_copy(rd, k->nonce, MLS_AEAD_NONCE_LEN);
        if (err) return err;
        r->n_skipped++;
        if (k->generation >= r->next_gen || (s && k->generation <= r->skipped[s - 1].generation))
            return SP_ERR_INVALID;
    }
    return SP_OK;
}

sp_err mls_secret_tree_decode(const uint8_t *p, size_t n, mls_secret_tree **out)
{
    if (!out || (!p && n)) return SP_ERR_INVALID;
    *out = NULL;
    sp_reader rd;
    sp_reader_init(&rd, p, n);
    uint8_t ver;
    uint32_t n_leaves, count;
    mls_secret_tree_limits lim;
    sp_err err = sp_read_u8(&rd, &ver);
    if (!err) err = sp_read_u32(&rd, &n_leaves);
    if (!err) err = sp_read_u32(&rd, &lim.max_forward);
    if (!err) err = sp_read_u32(&rd, &lim.max_past);
    if (err) return err;
    if (ver != STATE_VERSION) return SP_ERR_UNSUPPORTED;
    mls_secret_tree *t;
    err = tree_alloc(n_leaves, &lim, &t);
    if (err) return err;
    uint32_t width = mls_tm_node_width(n_leaves);

    err = sp_read_u32(&rd, &count);
    if (!err && (count > width || !count_fits(&rd, count, NODE_REC))) err = SP_ERR_INVALID;
    if (!err && count) err = grow((void **)&t->nodes, &t->cap_nodes, count, sizeof *t->nodes);
    for (uint32_t i = 0; !err && i < count; i++) {
        node_secret *ns = &t->nodes[i];
        err = sp_read_u32(&rd, &ns->node);
        if (!err) err = sp_read_copy(&rd, ns->secret, MLS_HASH_LEN);
        if (!err) t->n_nodes++;
        if (!err && (ns->node >= width || (i && ns->node <= t->nodes[i - 1].node))) err = SP_ERR_INVALID;
    }
    if (!err) err = sp_read_u32(&rd, &count);
    if (!err && (count > n_leaves || !count_fits(&rd, count, LEAF_MIN))) err = SP_ERR_INVALID;
    if (!err && count) err = grow((void **)&t->leaves, &t->cap_used, count, sizeof *t->leaves);
    for (uint32_t i = 0; !err && i < count; i++) {
        leaf_state *ls = &t->leaves[i];
        err = sp_read_u32(&rd, &ls->leaf);
        /* Counted before the ratchets so that free() releases partial ones. */
        if (!err) t->n_used++;
        if (!err && (ls->leaf >= n_leaves || (i && ls->leaf <= t->leaves[i - 1].leaf))) err = SP_ERR_INVALID;
        if (!err) err = decode_ratchet(&rd, &ls->r[0]);
        if (!err) err = decode_ratchet(&rd, &ls->r[1]);
    }
    if (!err && sp_reader_left(&rd)) err = SP_ERR_INVALID;
    if (err) {
        mls_secret_tree_free(t);
        return err;
    }
    *out = t;
    return SP_OK;
}

/* ---- sender data ------------------------------------------------------------------ */

sp_err mls_sender_data_key_nonce(const uint8_t sender_data_secret[MLS_HASH_LEN],
                                 const uint8_t *ciphertext, size_t ct_len,
                                 uint8_t key[MLS_AEAD_KEY_LEN], uint8_t nonce[MLS_AEAD_NONCE_LEN])
{
    if (!sender_data_secret || (!ciphertext && ct_len) || !key || !nonce) return SP_ERR_INVALID;
    size_t sample = ct_len < MLS_HASH_LEN ? ct_len : MLS_HASH_LEN;
    mls_label_out outs[2] = {{"key", key, MLS_AEAD_KEY_LEN}, {"nonce", nonce, MLS_AEAD_NONCE_LEN}};
    return mls_expand_with_labels(sender_data_secret, ciphertext, sample, outs, 2);
}

void mls_apply_reuse_guard(uint8_t nonce[MLS_AEAD_NONCE_LEN], const uint8_t reuse_guard[4])
{
    for (int i = 0; i < 4; i++) nonce[i] ^= reuse_guard[i];
}
