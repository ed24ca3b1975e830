/* commit.c — proposals (§12.1, validation of §12.2/§12.3) and commits
 * (§12.4): applying a commit's proposals to the tree, its UpdatePath, the
 * transcript, the key schedule and confirmation tag of the new epoch; made
 * by us or received from another member. Works on a clone (`ns`) of the
 * current state, so a failure anywhere leaves the current state untouched. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/codec.h"
#include "mls/framing.h"
#include "mls/group_internal.h"
#include "mls/key_package.h"
#include "mls/parallel.h"
#include "mls/transcript.h"

typedef struct {
    const mls_proposal *p;
    uint32_t sender;
} prop_ref;

/* What applying a commit's proposals did. */
typedef struct {
    uint32_t added[4096]; /* leaves of Add proposals, in order */
    const mls_key_package *kps[4096];
    size_t n_added;
    const mls_psk_id *psks[64];
    size_t n_psks;
    int need_path;
    int removed_me;
    int reinit;
} applied;

static sp_slice gid(const mls_group *g) { return mls_bytes_slice(&g->ctx.group_id); }

static int same_bytes(const mls_bytes *a, const mls_bytes *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static int lists(const mls_u16_list *l, uint16_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 1;
    return 0;
}

/* Every member supports every non-default extension type of the list. */
static sp_err members_support(const mls_tree *t, const mls_extension_list *ext)
{
    for (size_t i = 0; i < ext->n; i++) {
        uint16_t ty = ext->v[i].type;
        if (ty <= MLS_EXT_EXTERNAL_SENDERS)
            continue;
        for (uint32_t l = 0; l < mls_tree_n_leaves(t); l++) {
            const mls_leaf_node *lf = mls_tree_leaf(t, mls_leaf(l));
            if (lf && !lists(&lf->capabilities.extensions, ty))
                return SP_ERR_UNSUPPORTED;
        }
    }
    return SP_OK;
}

/* The checks of a commit's Add proposals (two signature verifications
 * each), run before the list is walked, on several threads. */
typedef struct {
    const prop_ref *ps;
    uint64_t now;
    sp_err *verdict; /* per proposal; SP_OK for the ones that are not Adds */
} add_checks;

static sp_err check_add(void *arg, size_t i)
{
    add_checks *c = arg;
    if (c->ps[i].p->type == MLS_PROPOSAL_ADD)
        c->verdict[i] = mls_key_package_validate(&c->ps[i].p->add, c->now);
    return SP_OK; /* every verdict is wanted: the list walk reports them in order */
}

/* A proposal on its own (whoever sent it, whenever it arrives); an Add's
 * verdict comes from add_verdict when given. */
static sp_err check_proposal(const mls_group *g, const mls_proposal *p, uint32_t sender,
                             uint64_t now, const sp_err *add_verdict)
{
    switch (p->type) {
    case MLS_PROPOSAL_ADD:
        return add_verdict ? *add_verdict : mls_key_package_validate(&p->add, now);
    case MLS_PROPOSAL_UPDATE:
        if (!mls_tree_leaf(g->tree, mls_leaf(sender)) || p->update.source != MLS_LEAF_SOURCE_UPDATE)
            return SP_ERR_INVALID;
        return mls_tree_leaf_verify(&p->update, gid(g), sender);
    case MLS_PROPOSAL_REMOVE:
        return mls_tree_leaf(g->tree, mls_leaf(p->remove)) ? SP_OK : SP_ERR_INVALID;
    case MLS_PROPOSAL_PSK:
        if (p->psk.type == MLS_PSK_EXTERNAL)
            return SP_OK;
        return p->psk.type == MLS_PSK_RESUMPTION && p->psk.usage == MLS_PSK_USAGE_APPLICATION
                   ? SP_OK
                   : SP_ERR_INVALID;
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
        return members_support(g->tree, &p->gce);
    case MLS_PROPOSAL_REINIT:
        /* the group ends; the new one (version, suite) is the members' business */
        return p->reinit.version == MLS_VERSION_10 ? SP_OK : SP_ERR_UNSUPPORTED;
    case MLS_PROPOSAL_EXTERNAL_INIT:
        return SP_ERR_UNSUPPORTED; /* only in external commits, which we do not take */
    default:
        return SP_ERR_INVALID;
    }
}

static int psk_id_equal(const mls_psk_id *a, const mls_psk_id *b)
{
    return a->type == b->type && same_bytes(&a->psk_id, &b->psk_id) && a->usage == b->usage &&
           same_bytes(&a->group_id, &b->group_id) && a->epoch == b->epoch &&
           same_bytes(&a->nonce, &b->nonce);
}

/* §12.2 checks over the whole list: each proposal on its own (an Add's
 * verdict taken from verdict[] when given), one change per leaf, not the
 * committer's own leaf, distinct PSKs, a ReInit alone, one GCE. */
static sp_err check_list(const mls_group *ns, const prop_ref *ps, size_t n, uint32_t committer,
                         uint64_t now, const sp_err *verdict, applied *a,
                         const mls_proposal **gce)
{
    for (size_t i = 0; i < n; i++) {
        const mls_proposal *p = ps[i].p;
        TRY(check_proposal(ns, p, ps[i].sender, now, verdict ? &verdict[i] : NULL));
        switch (p->type) {
        case MLS_PROPOSAL_UPDATE:
        case MLS_PROPOSAL_REMOVE: {
            uint32_t target = p->type == MLS_PROPOSAL_UPDATE ? ps[i].sender : p->remove;
            if (target == committer)
                return SP_ERR_INVALID; /* the committer updates through its path */
            for (size_t j = 0; j < i; j++) {
                const mls_proposal *q = ps[j].p;
                if ((q->type == MLS_PROPOSAL_UPDATE && ps[j].sender == target) ||
                    (q->type == MLS_PROPOSAL_REMOVE && q->remove == target))
                    return SP_ERR_INVALID; /* one change per leaf */
            }
            a->need_path = 1;
            break;
        }
        case MLS_PROPOSAL_PSK:
            if (a->n_psks == sizeof a->psks / sizeof a->psks[0])
                return SP_ERR_TOO_LARGE;
            for (size_t j = 0; j < a->n_psks; j++)
                if (psk_id_equal(a->psks[j], &p->psk))
                    return SP_ERR_INVALID;
            a->psks[a->n_psks++] = &p->psk;
            break;
        case MLS_PROPOSAL_REINIT:
            if (n != 1)
                return SP_ERR_INVALID; /* §12.2: a ReInit commit holds nothing else */
            a->reinit = 1;
            break;
        case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS:
            if (*gce)
                return SP_ERR_INVALID;
            *gce = p;
            a->need_path = 1;
            break;
        }
    }
    return SP_OK;
}

/* §12.2 checks over the whole list, then §12.3 order: updates, removes, adds. */
static sp_err apply_proposals(mls_group *ns, const prop_ref *ps, size_t n, uint32_t committer,
                              uint64_t now, applied *a)
{
    memset(a, 0, sizeof *a);
    const mls_proposal *gce = NULL;
    size_t n_adds = 0;
    a->need_path = n == 0;
    for (size_t i = 0; i < n; i++)
        n_adds += ps[i].p->type == MLS_PROPOSAL_ADD;
    /* the Adds' signatures are most of a large commit's cost: checked up
     * front on several threads, their verdicts reported in list order */
    sp_err *verdict = NULL;
    if (n_adds > 1) {
        if (!(verdict = calloc(n, sizeof *verdict)))
            return SP_ERR_NOMEM;
        add_checks c = {ps, now, verdict};
        mls_parallel_for(n, check_add, &c);
    }
    sp_err listed = check_list(ns, ps, n, committer, now, verdict, a, &gce);
    free(verdict);
    TRY(listed);
    if (n_adds > sizeof a->added / sizeof a->added[0])
        return SP_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        if (ps[i].p->type != MLS_PROPOSAL_UPDATE)
            continue;
        mls_leaf_node leaf;
        TRY(mls_leaf_node_copy(&leaf, &ps[i].p->update));
        sp_err e = mls_tree_update(ns->tree, mls_leaf(ps[i].sender), &leaf);
        mls_leaf_node_free(&leaf);
        TRY(e);
    }
    for (size_t i = 0; i < n; i++)
        if (ps[i].p->type == MLS_PROPOSAL_REMOVE)
            TRY(mls_tree_remove(ns->tree, mls_leaf(ps[i].p->remove)));
    a->removed_me = !mls_tree_leaf(ns->tree, mls_leaf(ns->me));
    for (size_t i = 0; i < n; i++) {
        const mls_key_package *kp = &ps[i].p->add;
        if (ps[i].p->type != MLS_PROPOSAL_ADD)
            continue;
        mls_leaf_idx dup;
        if (mls_tree_find_sig_key(ns->tree, kp->leaf_node.signature_key.data,
                                  kp->leaf_node.signature_key.len, &dup) == SP_OK)
            return SP_ERR_INVALID; /* already a member */
        mls_leaf_node leaf;
        mls_leaf_idx at;
        TRY(mls_leaf_node_copy(&leaf, &kp->leaf_node));
        sp_err e = mls_tree_add(ns->tree, &leaf, &at);
        mls_leaf_node_free(&leaf);
        TRY(e);
        a->kps[a->n_added] = kp;
        a->added[a->n_added++] = at.v;
    }
    /* new members must support the group's extensions too (§12.2) */
    if (!gce && a->n_added)
        TRY(members_support(ns->tree, &ns->ctx.extensions));
    if (gce) {
        TRY(members_support(ns->tree, &gce->gce));
        mls_extension_list ext;
        TRY(mls_extension_list_copy(&ext, &gce->gce));
        mls_extension_list_free(&ns->ctx.extensions);
        ns->ctx.extensions = ext;
    }
    return SP_OK;
}

/* psk_secret of the commit's PSK proposals (§8.4); NULL-equivalent zeros when none. */
static sp_err psk_secret(const mls_group *g, const applied *a, uint8_t out[MLS_HASH_LEN])
{
    mls_psk_input in[64];
    sp_buf ids[64];
    sp_err e = SP_OK;
    size_t n = 0;
    for (; !e && n < a->n_psks; n++) {
        const mls_psk_id *id = a->psks[n];
        sp_buf_init(&ids[n]);
        e = mls_psk_id_write(&ids[n], id);
        in[n].id = ids[n].data;
        in[n].id_len = ids[n].len;
        in[n].psk = NULL;
        if (id->type == MLS_PSK_EXTERNAL) {
            for (size_t k = 0; k < g->n_psks; k++)
                if (same_bytes(&g->psks[k].id, &id->psk_id)) {
                    in[n].psk = g->psks[k].psk.data;
                    in[n].psk_len = g->psks[k].psk.len;
                }
        } else if (same_bytes(&id->group_id, &g->ctx.group_id)) {
            for (size_t k = 0; k < g->n_res; k++)
                if (g->res[k].epoch == id->epoch) {
                    in[n].psk = g->res[k].psk;
                    in[n].psk_len = MLS_HASH_LEN;
                }
        }
        if (!e && !in[n].psk)
            e = SP_ERR_NOT_FOUND; /* a PSK we do not hold */
    }
    if (!e)
        e = mls_psk_secret(in, a->n_psks, out);
    for (size_t i = 0; i < n; i++)
        sp_buf_free(&ids[i]);
    return e;
}

static sp_err ctx_encode(const mls_group_context *c, sp_buf *b)
{
    sp_err e = mls_group_context_write(b, c);
    return !e && b->failed ? SP_ERR_NOMEM : e;
}

/* The state before the commit, kept for late application messages. */
typedef struct {
    mls_group_context ctx;
    mls_tree *tree;
    uint8_t interim[MLS_HASH_LEN];
    size_t interim_len;
} before;

static sp_err before_take(const mls_group *ns, before *b)
{
    memset(b, 0, sizeof *b);
    memcpy(b->interim, ns->interim, sizeof b->interim);
    b->interim_len = ns->interim_len;
    TRY(mls_group_context_copy(&b->ctx, &ns->ctx));
    return mls_tree_clone(ns->tree, &b->tree);
}

static void before_free(before *b)
{
    mls_group_context_free(&b->ctx);
    mls_tree_free(b->tree);
}

/* Moves the epoch being left (its context and tree from `old`, the secret
 * tree and sender-data secret still in ns) to the past list, newest last, at
 * most max_past of them; ns->st is NULL afterwards when it was taken. */
static void archive(mls_group *ns, before *old)
{
    if (ns->max_past) {
        if (ns->n_past >= ns->max_past) {
            size_t drop = ns->n_past - ns->max_past + 1;
            for (size_t i = 0; i < drop; i++)
                mls_past_epoch_unref(ns->past[i]);
            memmove(ns->past, ns->past + drop, (ns->n_past - drop) * sizeof *ns->past);
            ns->n_past -= drop;
        }
        mls_past_epoch **v = realloc(ns->past, (ns->n_past + 1) * sizeof *v);
        mls_past_epoch *p = v ? mls_past_epoch_new() : NULL;
        if (v)
            ns->past = v;
        if (p) {
            v[ns->n_past++] = p;
            p->ctx = old->ctx;
            p->tree = old->tree;
            p->st = ns->st;
            memcpy(p->sender_data_secret, ns->sec.sender_data_secret, MLS_HASH_LEN);
            memset(&old->ctx, 0, sizeof old->ctx);
            old->tree = NULL;
            ns->st = NULL;
        }
    }
}

/* The new epoch: transcript, key schedule, confirmation tag (checked, or
 * made when `make`), secret tree; the old epoch moves to the past list. */
static sp_err advance(mls_group *ns, before *old, mls_authenticated_content *ac,
                      const uint8_t *commit_secret, const uint8_t *psk, int make)
{
    uint8_t confirmed[MLS_HASH_LEN], tag[MLS_HASH_LEN];
    TRY(mls_confirmed_transcript_hash(old->interim, old->interim_len, ac, confirmed));
    TRY(mls_bytes_set(&ns->ctx.confirmed_transcript_hash, confirmed, sizeof confirmed));
    sp_buf gc = SP_BUF_INIT;
    mls_epoch_secrets sec;
    sp_err e = ctx_encode(&ns->ctx, &gc);
    if (!e)
        e = mls_key_schedule(ns->sec.init_secret, commit_secret, psk, gc.data, gc.len, &sec);
    sp_buf_free(&gc);
    if (!e && make) {
        e = mls_confirmation_tag(sec.confirmation_key, confirmed, tag);
        if (!e)
            e = mls_bytes_set(&ac->auth.confirmation_tag, tag, sizeof tag);
    } else if (!e) {
        e = mls_confirmation_tag_verify(sec.confirmation_key, confirmed,
                                        ac->auth.confirmation_tag.data,
                                        ac->auth.confirmation_tag.len);
    }
    if (!e)
        e = mls_interim_transcript_hash(confirmed, ac->auth.confirmation_tag.data,
                                        ac->auth.confirmation_tag.len, ns->interim);
    mls_secret_tree *st = NULL;
    if (!e)
        e = mls_secret_tree_new(sec.encryption_secret, mls_tree_n_leaves(ns->tree), NULL, &st);
    if (e) {
        mls_epoch_secrets_wipe(&sec);
        return e;
    }
    ns->interim_len = MLS_HASH_LEN;

    archive(ns, old);
    mls_secret_tree_free(ns->st);
    ns->st = st;
    mls_epoch_secrets_wipe(&ns->sec);
    ns->sec = sec;
    mls_epoch_secrets_wipe(&sec);
    for (size_t i = 0; i < ns->n_props; i++)
        mls_proposal_free(&ns->props[i].p);
    free(ns->props);
    ns->props = NULL;
    ns->n_props = 0;
    mls_privs_prune(&ns->privs, ns->tree);
    return mls_group_note_resumption(ns);
}

/* ---- receiving ------------------------------------------------------------------------------------ */

static sp_err handle_proposal(mls_group *ns, const mls_authenticated_content *ac)
{
    uint32_t sender = ac->content.sender.index;
    TRY(check_proposal(ns, &ac->content.proposal, sender, 0, NULL));
    sp_buf b = SP_BUF_INIT;
    uint8_t ref[MLS_HASH_LEN];
    sp_err e = mls_authenticated_content_write(&b, ac);
    if (!e && b.failed)
        e = SP_ERR_NOMEM;
    if (!e)
        e = mls_make_proposal_ref(b.data, b.len, ref);
    sp_buf_free(&b);
    TRY(e);
    mls_cached_proposal *v = realloc(ns->props, (ns->n_props + 1) * sizeof *v);
    if (!v)
        return SP_ERR_NOMEM;
    ns->props = v;
    mls_cached_proposal *c = &v[ns->n_props];
    memset(c, 0, sizeof *c);
    memcpy(c->ref, ref, sizeof ref);
    c->sender = sender;
    TRY(mls_proposal_copy(&c->p, &ac->content.proposal));
    ns->n_props++;
    return SP_OK;
}

static sp_err handle_commit(mls_group *ns, mls_authenticated_content *ac, mls_process_info *info)
{
    uint32_t sender = ac->content.sender.index;
    const mls_commit *c = &ac->content.commit;
    if (sender == ns->me)
        return SP_ERR_STATE; /* our own commit: apply the pending state */
    if (ac->auth.confirmation_tag.len != MLS_HASH_LEN)
        return SP_ERR_INVALID;
    prop_ref *ps = c->n_proposals ? calloc(c->n_proposals, sizeof *ps) : NULL;
    if (c->n_proposals && !ps)
        return SP_ERR_NOMEM;
    sp_err e = SP_OK;
    for (size_t i = 0; !e && i < c->n_proposals; i++) {
        const mls_proposal_or_ref *por = &c->proposals[i];
        if (por->type == MLS_POR_PROPOSAL) {
            ps[i].p = &por->proposal;
            ps[i].sender = sender;
            continue;
        }
        e = SP_ERR_NOT_FOUND;
        for (size_t k = 0; k < ns->n_props; k++)
            if (por->reference.len == MLS_HASH_LEN &&
                memcmp(por->reference.data, ns->props[k].ref, MLS_HASH_LEN) == 0) {
                ps[i].p = &ns->props[k].p;
                ps[i].sender = ns->props[k].sender;
                e = SP_OK;
            }
    }
    before old;
    applied *a = calloc(1, sizeof *a);
    if (!e && !a)
        e = SP_ERR_NOMEM;
    if (!e)
        e = before_take(ns, &old);
    else
        memset(&old, 0, sizeof old);
    if (!e)
        e = apply_proposals(ns, ps, c->n_proposals, sender, 0, a);
    if (!e && a->need_path && !c->has_path)
        e = SP_ERR_INVALID;
    if (!e && a->removed_me) {
        /* we are out: nothing more we can (or need to) derive, but messages
         * sent in the epoch we leave can still be read late */
        archive(ns, &old);
        mls_secret_tree_free(ns->st);
        ns->st = NULL;
        ns->active = 0;
        info->removed = 1;
        ns->ctx.epoch++;
        goto out;
    }
    if (!e && c->has_path)
        e = mls_treekem_merge(ns->tree, mls_leaf(sender), &c->path, gid(ns));
    uint8_t th[MLS_HASH_LEN], cs[MLS_HASH_LEN], psk[MLS_HASH_LEN];
    memset(cs, 0, sizeof cs);
    ns->ctx.epoch++;
    if (!e)
        e = mls_tree_root_hash(ns->tree, th);
    if (!e)
        e = mls_bytes_set(&ns->ctx.tree_hash, th, sizeof th);
    if (!e && c->has_path) {
        sp_buf gc = SP_BUF_INIT;
        e = ctx_encode(&ns->ctx, &gc); /* provisional: the old transcript hash */
        if (!e)
            e = mls_treekem_decrypt(ns->tree, mls_leaf(sender), mls_leaf(ns->me), &c->path,
                                    &ns->privs, gc.data, gc.len, a->added, a->n_added, NULL, cs);
        sp_buf_free(&gc);
    }
    if (!e)
        e = psk_secret(ns, a, psk);
    if (!e)
        e = advance(ns, &old, ac, cs, psk, 0);
    if (!e && a->reinit) {
        /* §11.2: the group is not used any more after a ReInit commit */
        ns->active = 0;
        info->ended = 1;
    }
    mls_wipe(cs, sizeof cs);
    mls_wipe(psk, sizeof psk);
out:
    before_free(&old);
    free(a);
    free(ps);
    return e;
}

sp_err mls_handle_content(mls_group *ns, mls_authenticated_content *ac, mls_process_info *info)
{
    memset(info, 0, sizeof *info);
    if (ac->content.sender.type != MLS_SENDER_MEMBER)
        return SP_ERR_UNSUPPORTED; /* external senders and joiners: not supported */
    info->sender_leaf = ac->content.sender.index;
    if (ac->content.content_type == MLS_CONTENT_PROPOSAL) {
        info->kind = MLS_GROUP_GOT_PROPOSAL;
        return handle_proposal(ns, ac);
    }
    if (ac->content.content_type == MLS_CONTENT_COMMIT) {
        info->kind = MLS_GROUP_GOT_COMMIT;
        return handle_commit(ns, ac, info);
    }
    return SP_ERR_INVALID;
}

/* ---- creating ---------------------------------------------------------------------------------------- */

static sp_err encode_public(const mls_authenticated_content *ac, const mls_group *g, sp_buf *out)
{
    mls_message m = {0};
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_PUBLIC_MESSAGE;
    sp_err e = mls_public_message_protect(ac, &g->ctx, g->sec.membership_key, &m.public_message);
    if (!e)
        e = mls_message_write(out, &m);
    if (!e && out->failed)
        e = SP_ERR_NOMEM;
    mls_message_free(&m);
    return e;
}

/* A commit as a PrivateMessage: encrypted with our handshake ratchet of the
 * epoch the commit leaves (now in the past list, or a copy of it when no past
 * epochs are kept). */
static sp_err encode_private(const mls_authenticated_content *ac, const mls_group *g,
                             mls_group *ns, sp_buf *out)
{
    mls_secret_tree *st = NULL, *tmp = NULL;
    sp_err e = SP_OK;
    if (ns->n_past && ns->past[ns->n_past - 1]->ctx.epoch == g->ctx.epoch)
        st = ns->past[ns->n_past - 1]->st;
    else if (!(e = mls_secret_tree_dup(g->st, &tmp)))
        st = tmp;
    mls_message m = {0};
    m.version = MLS_VERSION_10;
    m.wire_format = MLS_WIRE_PRIVATE_MESSAGE;
    if (!e)
        e = mls_private_message_protect(ac, st, g->sec.sender_data_secret, 0, g->rng,
                                        &m.private_message);
    if (!e)
        e = mls_message_write(out, &m);
    if (!e && out->failed)
        e = SP_ERR_NOMEM;
    mls_message_free(&m);
    mls_secret_tree_free(tmp);
    return e;
}

sp_err mls_commit_create(const mls_group *g, mls_proposal *props, size_t n, int force_path,
                         mls_commit_out *out, mls_group **next)
{
    *next = NULL;
    memset(out, 0, sizeof *out);
    if (!g->active)
        return SP_ERR_STATE;
    mls_group *ns;
    TRY(mls_group_clone(g, &ns));
    prop_ref *ps = n ? calloc(n, sizeof *ps) : NULL;
    applied *a = calloc(1, sizeof *a);
    mls_authenticated_content ac = {0};
    mls_treekem_secrets *sec = calloc(1, sizeof *sec);
    before old;
    memset(&old, 0, sizeof old);
    sp_err e = (n && !ps) || !a || !sec ? SP_ERR_NOMEM : SP_OK;
    for (size_t i = 0; !e && i < n; i++) {
        ps[i].p = &props[i];
        ps[i].sender = g->me;
    }
    if (!e)
        e = before_take(ns, &old);
    if (!e)
        e = apply_proposals(ns, ps, n, g->me, (uint64_t)time(NULL), a);
    if (!e && a->removed_me)
        e = SP_ERR_INVALID;
    int path = a && (a->need_path || force_path);
    mls_commit *c = &ac.content.commit;
    if (!e && path)
        e = mls_treekem_create(ns->tree, mls_leaf(g->me), mls_tree_leaf(g->tree, mls_leaf(g->me)),
                               ns->signer, gid(g), g->rng, sec, &ns->privs);
    uint8_t th[MLS_HASH_LEN], psk[MLS_HASH_LEN];
    ns->ctx.epoch++;
    if (!e)
        e = mls_tree_root_hash(ns->tree, th);
    if (!e)
        e = mls_bytes_set(&ns->ctx.tree_hash, th, sizeof th);
    if (!e && path) {
        sp_buf gc = SP_BUF_INIT;
        e = ctx_encode(&ns->ctx, &gc);
        if (!e)
            e = mls_treekem_encrypt(ns->tree, mls_leaf(g->me), sec, gc.data, gc.len, a->added,
                                    a->n_added, g->rng, &c->path);
        c->has_path = !e;
        sp_buf_free(&gc);
    }
    /* the commit as it travels: by-value proposals, signed under the old context */
    ac.wire_format = g->private_handshake ? MLS_WIRE_PRIVATE_MESSAGE : MLS_WIRE_PUBLIC_MESSAGE;
    ac.content.epoch = g->ctx.epoch;
    ac.content.sender.type = MLS_SENDER_MEMBER;
    ac.content.sender.index = g->me;
    ac.content.content_type = MLS_CONTENT_COMMIT;
    if (!e)
        e = mls_bytes_set(&ac.content.group_id, g->ctx.group_id.data, g->ctx.group_id.len);
    if (!e && n) {
        c->proposals = calloc(n, sizeof *c->proposals);
        e = c->proposals ? SP_OK : SP_ERR_NOMEM;
    }
    for (size_t i = 0; !e && i < n; i++) {
        c->n_proposals++;
        c->proposals[i].type = MLS_POR_PROPOSAL;
        e = mls_proposal_copy(&c->proposals[i].proposal, &props[i]);
    }
    if (!e)
        e = mls_content_sign(&ac, &g->ctx, g->signer);
    if (!e)
        e = psk_secret(ns, a, psk);
    if (!e)
        e = advance(ns, &old, &ac, path ? sec->commit_secret : NULL, psk, 1);
    mls_wipe(psk, sizeof psk);
    if (!e)
        e = g->private_handshake ? encode_private(&ac, g, ns, &out->commit)
                                 : encode_public(&ac, g, &out->commit);
    /* the tree is only worth encoding (O(n)) when someone joins */
    if (!e && a->n_added)
        e = mls_tree_encode(ns->tree, &out->ratchet_tree);
    if (!e && a->n_added)
        e = mls_welcome_create(ns, a->kps, a->added, a->n_added, path ? sec : NULL, a->psks,
                               a->n_psks,
                               ac.auth.confirmation_tag.data, &out->ratchet_tree, &out->welcome);
    if (sec) {
        mls_treekem_secrets_wipe(sec);
        free(sec);
    }
    before_free(&old);
    mls_authenticated_content_free(&ac);
    free(a);
    free(ps);
    if (e) {
        mls_commit_out_free(out);
        mls_group_free(ns);
        return e;
    }
    *next = ns;
    return SP_OK;
}

void mls_commit_out_free(mls_commit_out *o)
{
    sp_buf_free(&o->commit);
    sp_buf_free(&o->welcome);
    sp_buf_free(&o->ratchet_tree);
}
