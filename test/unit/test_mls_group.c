/* test_mls_group.c — the group API beyond the vectors: a simulated group that
 * grows to 50 members through batched adds, with removes, self-updates and
 * application messages from random members over 200 epochs. After every
 * epoch all members agree on the epoch authenticator and read every message;
 * removed members read nothing sent after their removal; tampered commits and
 * messages are rejected without changing any state; pending commits can be
 * discarded; late messages from past epochs still decrypt; state blobs
 * round-trip; commits travel as PublicMessages or (for a third of the
 * members) PrivateMessages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mls/group.h"

CHECK_MAIN_DEFS

#define MAX_MEMBERS 50
#define EPOCHS 200
#define POOL 512

/* A fast deterministic random source (xorshift), for the choices and the keys. */
static uint64_t seed = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}
static uint32_t pick(uint32_t n) { return (uint32_t)(next_u64() % n); }
static sp_err det_rand(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)next_u64();
    return SP_OK;
}
static const mls_rand RNG = {det_rand, NULL};

typedef struct {
    char id[16];
    mls_group *g;  /* NULL until joined */
    int removed;   /* was a member, now out: g is kept to prove it reads nothing */
} member;

static member pool[POOL];
static size_t n_pool;

static int live(const member *m) { return m->g && !m->removed; }

static size_t live_count(void)
{
    size_t n = 0;
    for (size_t i = 0; i < n_pool; i++)
        n += live(&pool[i]);
    return n;
}

static member *random_live(void)
{
    for (;;) {
        member *m = &pool[pick((uint32_t)n_pool)];
        if (live(m))
            return m;
    }
}

static int same_blob(const mls_group *g, const sp_buf *before)
{
    sp_buf now = SP_BUF_INIT;
    int same = mls_group_save(g, &now) == SP_OK && now.len == before->len &&
               memcmp(now.data, before->data, now.len) == 0;
    sp_buf_free_secret(&now);
    return same;
}

/* Every live member has the committer's epoch and authenticator. */
static int all_agree(const member *ref)
{
    uint8_t a[MLS_HASH_LEN], b[MLS_HASH_LEN], xa[16], xb[16];
    mls_group_epoch_authenticator(ref->g, a);
    mls_group_export(ref->g, "test", (const uint8_t *)"c", 1, xa, sizeof xa);
    for (size_t i = 0; i < n_pool; i++) {
        if (!live(&pool[i]))
            continue;
        mls_group_epoch_authenticator(pool[i].g, b);
        mls_group_export(pool[i].g, "test", (const uint8_t *)"c", 1, xb, sizeof xb);
        if (mls_group_epoch(pool[i].g) != mls_group_epoch(ref->g) || memcmp(a, b, sizeof a) ||
            memcmp(xa, xb, sizeof xa))
            return 0;
    }
    return 1;
}

/* A byte of msg flipped: every receiver must reject it and stay as it was. */
static void tampered_is_rejected(const sp_buf *msg, member *victim, int handshake)
{
    sp_buf before = SP_BUF_INIT, copy = SP_BUF_INIT, pt = SP_BUF_INIT;
    CHECK(mls_group_save(victim->g, &before) == SP_OK);
    sp_buf_append(&copy, msg->data, msg->len);
    copy.data[msg->len / 2 + pick((uint32_t)(msg->len / 2))] ^= (uint8_t)(1 + pick(255));
    mls_process_info info;
    sp_err e = handshake ? mls_group_process(victim->g, copy.data, copy.len, &info)
                         : mls_group_unprotect(victim->g, copy.data, copy.len, &pt, NULL, NULL);
    CHECK_MSG(e != SP_OK, "a tampered %s was accepted", handshake ? "commit" : "message");
    CHECK_MSG(same_blob(victim->g, &before), "a rejected message changed the state");
    sp_buf_free_secret(&before);
    sp_buf_free(&copy);
    sp_buf_free_secret(&pt);
}

/* One application message from a random member, read by all others; members
 * removed earlier read nothing. */
static void send_message(int epoch, int k, int tamper)
{
    member *s = random_live();
    char text[64];
    snprintf(text, sizeof text, "epoch %d message %d from %s", epoch, k, s->id);
    sp_buf msg = SP_BUF_INIT;
    CHECK(mls_group_protect(s->g, (const uint8_t *)text, strlen(text), NULL, 0, &msg) == SP_OK);
    mls_message_info mi;
    CHECK(mls_message_peek(msg.data, msg.len, &mi) == SP_OK &&
          mi.wire_format == MLS_WIRE_PRIVATE_MESSAGE && mi.content_type == MLS_CONTENT_APPLICATION &&
          mi.epoch == mls_group_epoch(s->g));
    if (tamper) {
        member *v;
        do
            v = random_live();
        while (v == s && live_count() > 1);
        if (v != s)
            tampered_is_rejected(&msg, v, 0);
    }
    int all_ok = 1;
    for (size_t i = 0; i < n_pool; i++) {
        member *r = &pool[i];
        if (!r->g || r == s)
            continue;
        sp_buf pt = SP_BUF_INIT, who = SP_BUF_INIT;
        uint32_t leaf = 0;
        sp_err e = mls_group_unprotect(r->g, msg.data, msg.len, &pt, &leaf, &who);
        if (r->removed) {
            CHECK_MSG(e != SP_OK, "%s, removed, read a later message", r->id);
        } else {
            int ok = e == SP_OK && pt.len == strlen(text) && memcmp(pt.data, text, pt.len) == 0 &&
                     leaf == mls_group_own_leaf(s->g) && who.len == strlen(s->id) &&
                     memcmp(who.data, s->id, who.len) == 0;
            if (!ok)
                fprintf(stderr, "%s could not read %s's message: %s\n", r->id, s->id,
                        sp_strerror(e));
            all_ok &= ok;
            /* a second delivery is a replay */
            if (ok && pick(8) == 0) {
                sp_buf again = SP_BUF_INIT;
                CHECK(mls_group_unprotect(r->g, msg.data, msg.len, &again, NULL, NULL) != SP_OK);
                sp_buf_free(&again);
            }
        }
        sp_buf_free_secret(&pt);
        sp_buf_free(&who);
    }
    CHECK_MSG(all_ok, "epoch %d: a member failed to read a message", epoch);
    sp_buf_free(&msg);
}

static member *new_member(sp_buf *kp, sp_buf *priv)
{
    if (n_pool == POOL)
        return NULL;
    member *m = &pool[n_pool++];
    snprintf(m->id, sizeof m->id, "user-%zu", n_pool - 1);
    CHECK(mls_key_package_make((const uint8_t *)m->id, strlen(m->id), NULL, &RNG, kp, priv) ==
          SP_OK);
    return m;
}

/* Distributes a commit to every live member but the committer; returns the
 * count of members that found themselves removed. */
static void distribute(member *c, const mls_commit_out *out, int tamper)
{
    if (tamper) {
        member *v;
        do
            v = random_live();
        while (v == c && live_count() > 1);
        if (v != c)
            tampered_is_rejected(&out->commit, v, 1);
    }
    for (size_t i = 0; i < n_pool; i++) {
        member *r = &pool[i];
        if (!live(r) || r == c)
            continue;
        mls_process_info info;
        sp_err e = mls_group_process(r->g, out->commit.data, out->commit.len, &info);
        CHECK_MSG(e == SP_OK, "%s could not process a commit: %s", r->id, sp_strerror(e));
        CHECK(info.kind == MLS_GROUP_GOT_COMMIT && info.sender_leaf == mls_group_own_leaf(c->g));
        if (info.removed) {
            CHECK(!mls_group_active(r->g));
            r->removed = 1;
        }
    }
}

static void epoch_step(int epoch)
{
    member *c = random_live();
    size_t n_live = live_count();
    mls_commit_out out;
    mls_group *next = NULL;
    uint32_t op = pick(10);
    member *joiners[8];
    size_t n_join = 0;
    int expect_removed = 0;

    /* a pending commit that is discarded must leave no trace */
    if (pick(10) == 0) {
        sp_buf before = SP_BUF_INIT;
        CHECK(mls_group_save(c->g, &before) == SP_OK);
        CHECK(mls_group_self_update(c->g, &out, &next) == SP_OK);
        mls_group_free(next);
        mls_commit_out_free(&out);
        CHECK(same_blob(c->g, &before));
        sp_buf_free_secret(&before);
    }

    if ((n_live < MAX_MEMBERS && op < 5) || n_live < 3) {
        size_t want = 1 + pick(6);
        if (want > MAX_MEMBERS - n_live)
            want = MAX_MEMBERS - n_live;
        sp_buf kps[8], privs[8];
        sp_slice sl[8];
        for (size_t i = 0; i < 8; i++) {
            sp_buf_init(&kps[i]);
            sp_buf_init(&privs[i]);
        }
        for (size_t i = 0; i < want; i++) {
            joiners[n_join] = new_member(&kps[i], &privs[i]);
            if (!joiners[n_join])
                break;
            sl[n_join] = sp_buf_slice(&kps[i]);
            n_join++;
        }
        if (n_join) {
            CHECK(mls_group_add(c->g, sl, n_join, &out, &next) == SP_OK);
            CHECK(out.welcome.len > 0);
            distribute(c, &out, pick(10) == 0);
            mls_group_apply(c->g, next);
            for (size_t i = 0; i < n_join; i++) {
                /* half the joiners get the tree out of band */
                int oob = pick(2);
                sp_err e = mls_group_join(out.welcome.data, out.welcome.len,
                                          oob ? out.ratchet_tree.data : NULL,
                                          oob ? out.ratchet_tree.len : 0, privs[i].data,
                                          privs[i].len, NULL, 0, &RNG, &joiners[i]->g);
                CHECK_MSG(e == SP_OK, "%s could not join: %s", joiners[i]->id, sp_strerror(e));
                /* a third of the members send their commits encrypted */
                if (e == SP_OK && pick(3) == 0)
                    mls_group_set_private_handshake(joiners[i]->g, 1);
            }
            mls_commit_out_free(&out);
        }
        for (size_t i = 0; i < want && i < 8; i++) {
            sp_buf_free(&kps[i]);
            sp_buf_free_secret(&privs[i]);
        }
    } else if (op < 8 && n_live > 3) {
        /* remove one or two others, by leaf or by identity */
        member *v[2];
        size_t nv = 1 + pick(2);
        for (size_t i = 0; i < nv; i++) {
            do
                v[i] = random_live();
            while (v[i] == c || (i == 1 && v[1] == v[0]));
        }
        if (nv == 1 && pick(2)) {
            CHECK(mls_group_remove_identity(c->g, (const uint8_t *)v[0]->id, strlen(v[0]->id), &out,
                                            &next) == SP_OK);
        } else {
            uint32_t leaves[2];
            for (size_t i = 0; i < nv; i++)
                leaves[i] = mls_group_own_leaf(v[i]->g);
            CHECK(mls_group_remove(c->g, leaves, nv, &out, &next) == SP_OK);
        }
        distribute(c, &out, pick(10) == 0);
        mls_group_apply(c->g, next);
        mls_commit_out_free(&out);
        for (size_t i = 0; i < nv; i++)
            expect_removed += v[i]->removed;
        CHECK_MSG(expect_removed == (int)nv, "a removed member did not notice");
    } else {
        /* a late message: sent in this epoch, read after the commit */
        sp_buf late = SP_BUF_INIT;
        member *ls = random_live();
        CHECK(mls_group_protect(ls->g, (const uint8_t *)"late", 4, NULL, 0, &late) == SP_OK);
        CHECK(mls_group_self_update(c->g, &out, &next) == SP_OK);
        CHECK(out.welcome.len == 0);
        distribute(c, &out, pick(10) == 0);
        mls_group_apply(c->g, next);
        mls_commit_out_free(&out);
        member *lr = random_live();
        if (lr != ls) {
            sp_buf pt = SP_BUF_INIT;
            CHECK_MSG(mls_group_unprotect(lr->g, late.data, late.len, &pt, NULL, NULL) == SP_OK &&
                          pt.len == 4,
                      "a late message from the previous epoch did not decrypt");
            sp_buf_free_secret(&pt);
        }
        sp_buf_free(&late);
    }
    CHECK_MSG(all_agree(c), "epoch %d: members disagree", epoch);

    /* now and then a member goes through a save/load round trip */
    if (pick(8) == 0) {
        member *m = random_live();
        sp_buf blob = SP_BUF_INIT, again = SP_BUF_INIT;
        mls_group *h = NULL;
        CHECK(mls_group_save(m->g, &blob) == SP_OK);
        CHECK(mls_group_load(blob.data, blob.len, &RNG, &h) == SP_OK);
        CHECK(h && mls_group_save(h, &again) == SP_OK && again.len == blob.len &&
              memcmp(again.data, blob.data, blob.len) == 0);
        if (h) {
            mls_group_free(m->g);
            m->g = h;
        }
        /* a truncated blob is refused */
        mls_group *bad = NULL;
        CHECK(mls_group_load(blob.data, blob.len - 1, &RNG, &bad) != SP_OK && !bad);
        sp_buf_free_secret(&blob);
        sp_buf_free_secret(&again);
    }

    int n_msgs = 1 + (pick(4) == 0);
    for (int k = 0; k < n_msgs; k++)
        send_message(epoch, k, pick(10) == 0);
}

static void test_simulation(void)
{
    member *first = &pool[n_pool++];
    snprintf(first->id, sizeof first->id, "user-0");
    CHECK(mls_group_create((const uint8_t *)"channel-1", 9, (const uint8_t *)first->id,
                           strlen(first->id), NULL, NULL, &RNG, &first->g) == SP_OK);
    size_t max_live = 0;
    for (int e = 0; e < EPOCHS; e++) {
        epoch_step(e);
        if (live_count() > max_live)
            max_live = live_count();
    }
    CHECK_MSG(max_live == MAX_MEMBERS, "the group reached %zu members", max_live);
    CHECK(mls_group_epoch(first->g) >= EPOCHS || first->removed);
    for (size_t i = 0; i < n_pool; i++)
        mls_group_free(pool[i].g);
}

/* The smaller rules, on a three-member group. */
static void test_rules(void)
{
    mls_group *a = NULL, *b = NULL, *c = NULL, *next = NULL;
    sp_buf kb = SP_BUF_INIT, pb = SP_BUF_INIT, kc = SP_BUF_INIT, pc = SP_BUF_INIT;
    mls_commit_out out;
    CHECK(mls_group_create((const uint8_t *)"g", 1, (const uint8_t *)"alice", 5, NULL, NULL, &RNG,
                           &a) == SP_OK);
    CHECK(mls_key_package_make((const uint8_t *)"bob", 3, NULL, &RNG, &kb, &pb) == SP_OK);
    CHECK(mls_key_package_make((const uint8_t *)"carol", 5, NULL, &RNG, &kc, &pc) == SP_OK);
    mls_message_info mi;
    CHECK(mls_message_peek(kb.data, kb.len, &mi) == SP_OK && mi.wire_format == MLS_WIRE_KEY_PACKAGE);

    /* a corrupted key package is refused, and so is a duplicate member */
    sp_buf bad = SP_BUF_INIT;
    sp_buf_append(&bad, kb.data, kb.len);
    bad.data[bad.len - 5] ^= 1;
    sp_slice s1[2] = {sp_buf_slice(&bad), sp_buf_slice(&kc)};
    CHECK(mls_group_add(a, s1, 2, &out, &next) != SP_OK && !next);
    sp_slice s2[2] = {sp_buf_slice(&kb), sp_buf_slice(&kb)};
    CHECK(mls_group_add(a, s2, 2, &out, &next) != SP_OK && !next);

    sp_slice s[2] = {sp_buf_slice(&kb), sp_buf_slice(&kc)};
    CHECK(mls_group_add(a, s, 2, &out, &next) == SP_OK);
    /* a Welcome is for its key packages only */
    CHECK(mls_group_join(out.welcome.data, out.welcome.len, NULL, 0, pb.data, pb.len - 1, NULL, 0,
                         &RNG, &b) != SP_OK);
    CHECK(mls_group_join(out.welcome.data, out.welcome.len, NULL, 0, pb.data, pb.len, NULL, 0,
                         &RNG, &b) == SP_OK);
    CHECK(mls_group_join(out.welcome.data, out.welcome.len, out.ratchet_tree.data,
                         out.ratchet_tree.len, pc.data, pc.len, NULL, 0, &RNG, &c) == SP_OK);
    /* the committer's own commit comes back: refused, apply the pending state instead */
    mls_process_info info;
    CHECK(mls_group_process(a, out.commit.data, out.commit.len, &info) != SP_OK);
    mls_group_apply(a, next);
    /* replaying the commit in the new epoch is refused */
    CHECK(mls_group_process(b, out.commit.data, out.commit.len, &info) == SP_ERR_STATE);
    mls_commit_out_free(&out);

    mls_member *m;
    size_t n;
    CHECK(mls_group_members(c, &m, &n) == SP_OK && n == 3);
    CHECK(n == 3 && m[1].identity_len == 3 && memcmp(m[1].identity, "bob", 3) == 0);
    mls_members_free(m, n);
    uint32_t leaf;
    CHECK(mls_group_find_member(b, (const uint8_t *)"carol", 5, &leaf) == SP_OK && leaf == 2);
    CHECK(mls_group_find_member(b, (const uint8_t *)"dave", 4, &leaf) == SP_ERR_NOT_FOUND);

    /* application data in a PublicMessage/handshake path is refused */
    sp_buf msg = SP_BUF_INIT;
    CHECK(mls_group_protect(b, (const uint8_t *)"hi", 2, (const uint8_t *)"ad", 2, &msg) == SP_OK);
    CHECK(mls_group_process(a, msg.data, msg.len, &info) != SP_OK);
    sp_buf pt = SP_BUF_INIT;
    CHECK(mls_group_unprotect(a, msg.data, msg.len, &pt, NULL, NULL) == SP_OK && pt.len == 2);
    sp_buf_free(&msg);
    sp_buf_free(&pt);

    /* a sender whose state was lost after a message left (reloaded from before it) reuses that
     * generation, and receivers refuse the new message as a repeat; skipping ahead avoids it */
    sp_buf snap = SP_BUF_INIT;
    CHECK(mls_group_save(b, &snap) == SP_OK);
    CHECK(mls_group_protect(b, (const uint8_t *)"sent", 4, NULL, 0, &msg) == SP_OK);
    CHECK(mls_group_unprotect(a, msg.data, msg.len, &pt, NULL, NULL) == SP_OK);
    sp_buf_free(&msg);
    sp_buf_free(&pt);
    for (int skip = 0; skip <= 1; skip++) {
        mls_group *lost = NULL;
        CHECK(mls_group_load(snap.data, snap.len, &RNG, &lost) == SP_OK);
        if (!lost)
            break;
        if (skip)
            CHECK(mls_group_skip_sends(lost, 64) == SP_OK);
        CHECK(mls_group_protect(lost, (const uint8_t *)"again", 5, NULL, 0, &msg) == SP_OK);
        sp_err ue = mls_group_unprotect(a, msg.data, msg.len, &pt, NULL, NULL);
        CHECK_MSG(skip ? ue == SP_OK : ue == SP_ERR_EXISTS, "after a lost state, skip %d: %s", skip, sp_strerror(ue));
        sp_buf_free(&msg);
        sp_buf_free(&pt);
        mls_group_free(lost);
    }
    sp_buf_free_secret(&snap);

    /* past epochs are bounded: with 0 kept, an old message no longer decrypts */
    mls_group_set_past_epochs(c, 0);
    CHECK(mls_group_protect(a, (const uint8_t *)"old", 3, NULL, 0, &msg) == SP_OK);
    CHECK(mls_group_self_update(b, &out, &next) == SP_OK);
    CHECK(mls_group_process(a, out.commit.data, out.commit.len, &info) == SP_OK);
    CHECK(mls_group_process(c, out.commit.data, out.commit.len, &info) == SP_OK);
    mls_group_apply(b, next);
    mls_commit_out_free(&out);
    CHECK(mls_group_unprotect(b, msg.data, msg.len, &pt, NULL, NULL) == SP_OK);
    CHECK(mls_group_unprotect(c, msg.data, msg.len, &pt, NULL, NULL) == SP_ERR_STATE);
    sp_buf_free(&msg);
    sp_buf_free(&pt);

    /* an encrypted handshake: b's commits as PrivateMessages; a tampered one is
     * refused without a trace, the real one processed (and the setting is saved) */
    mls_group_set_past_epochs(c, 3);
    mls_group_set_private_handshake(b, 1);
    sp_buf blob = SP_BUF_INIT;
    mls_group *b2 = NULL;
    CHECK(mls_group_save(b, &blob) == SP_OK && mls_group_load(blob.data, blob.len, &RNG, &b2) == SP_OK);
    sp_buf_free_secret(&blob);
    CHECK(b2 && mls_group_remove(b2, (uint32_t[]){2}, 1, &out, &next) == SP_OK);
    CHECK(mls_message_peek(out.commit.data, out.commit.len, &mi) == SP_OK &&
          mi.wire_format == MLS_WIRE_PRIVATE_MESSAGE && mi.content_type == MLS_CONTENT_COMMIT);
    sp_buf before_removal = SP_BUF_INIT;
    CHECK(mls_group_protect(a, (const uint8_t *)"bye", 3, NULL, 0, &before_removal) == SP_OK);
    CHECK(mls_group_save(a, &blob) == SP_OK);
    out.commit.data[out.commit.len - 3] ^= 0x40;
    CHECK(mls_group_process(a, out.commit.data, out.commit.len, &info) != SP_OK);
    CHECK(same_blob(a, &blob));
    out.commit.data[out.commit.len - 3] ^= 0x40;
    CHECK(mls_group_process(a, out.commit.data, out.commit.len, &info) == SP_OK &&
          info.kind == MLS_GROUP_GOT_COMMIT);
    CHECK(mls_group_process(c, out.commit.data, out.commit.len, &info) == SP_OK && info.removed);
    /* removed, c still reads what was sent before, saves and loads, and
     * can do nothing else */
    CHECK(mls_group_unprotect(c, before_removal.data, before_removal.len, &pt, NULL, NULL) == SP_OK &&
          pt.len == 3);
    sp_buf_free(&pt);
    sp_buf_free(&before_removal);
    {
        sp_buf cb = SP_BUF_INIT;
        mls_group *c2 = NULL;
        CHECK(mls_group_save(c, &cb) == SP_OK && mls_group_load(cb.data, cb.len, &RNG, &c2) == SP_OK);
        CHECK(c2 && !mls_group_active(c2));
        mls_commit_out o2;
        mls_group *n2 = NULL;
        CHECK(c2 && mls_group_self_update(c2, &o2, &n2) == SP_ERR_STATE && !n2);
        CHECK(c2 && mls_group_protect(c2, (const uint8_t *)"x", 1, NULL, 0, &cb) == SP_ERR_STATE);
        mls_group_free(c2);
        sp_buf_free_secret(&cb);
    }
    mls_group_apply(b2, next);
    uint8_t e1[MLS_HASH_LEN], e2[MLS_HASH_LEN];
    mls_group_epoch_authenticator(a, e1);
    mls_group_epoch_authenticator(b2, e2);
    CHECK(memcmp(e1, e2, sizeof e1) == 0);
    mls_group_free(b);
    b = b2;
    mls_commit_out_free(&out);
    sp_buf_free_secret(&blob);

    /* removing ourselves is not a remove commit */
    uint32_t me = mls_group_own_leaf(a);
    CHECK(mls_group_remove(a, &me, 1, &out, &next) != SP_OK && !next);

    mls_group_free(a);
    mls_group_free(b);
    mls_group_free(c);
    sp_buf_free(&kb);
    sp_buf_free(&kc);
    sp_buf_free(&bad);
    sp_buf_free_secret(&pb);
    sp_buf_free_secret(&pc);
}

/* A GroupContext extension of our private type reaches joiners; other
 * non-default types are refused (our leaves would not support them); the
 * ratchet tree given out of band is the group's own. */
static void test_extensions(void)
{
    mls_extension_list ext = {0}, bad = {0};
    CHECK(mls_extensions_add(&ext, MLS_EXT_SPACEPANDA, "home=abc", 8) == SP_OK);
    CHECK(mls_extensions_add(&bad, 0xF0A1, "x", 1) == SP_OK);
    mls_group *a = NULL, *b = NULL, *next = NULL;
    CHECK(mls_group_create((const uint8_t *)"g2", 2, (const uint8_t *)"alice", 5, NULL, &bad, &RNG,
                           &a) == SP_ERR_UNSUPPORTED && !a);
    CHECK(mls_group_create((const uint8_t *)"g2", 2, (const uint8_t *)"alice", 5, NULL, &ext, &RNG,
                           &a) == SP_OK);
    sp_buf kb = SP_BUF_INIT, pb = SP_BUF_INIT, tree = SP_BUF_INIT;
    CHECK(mls_key_package_make((const uint8_t *)"bob", 3, NULL, &RNG, &kb, &pb) == SP_OK);
    sp_slice s = sp_buf_slice(&kb);
    mls_commit_out out;
    CHECK(mls_group_add(a, &s, 1, &out, &next) == SP_OK);
    mls_group_apply(a, next);
    CHECK(mls_group_ratchet_tree(a, &tree) == SP_OK && tree.len == out.ratchet_tree.len &&
          memcmp(tree.data, out.ratchet_tree.data, tree.len) == 0);
    CHECK(mls_group_join(out.welcome.data, out.welcome.len, tree.data, tree.len, pb.data, pb.len,
                         NULL, 0, &RNG, &b) == SP_OK);
    const mls_extension *x = b ? mls_extensions_find(mls_group_extensions(b), MLS_EXT_SPACEPANDA) : NULL;
    CHECK(x && x->data.len == 8 && memcmp(x->data.data, "home=abc", 8) == 0);
    /* a self-update's commit carries no tree */
    mls_commit_out_free(&out);
    CHECK(mls_group_self_update(a, &out, &next) == SP_OK && out.ratchet_tree.len == 0);
    mls_process_info info;
    CHECK(mls_group_process(b, out.commit.data, out.commit.len, &info) == SP_OK);
    mls_group_apply(a, next);
    uint8_t ea[MLS_HASH_LEN], eb[MLS_HASH_LEN];
    mls_group_epoch_authenticator(a, ea);
    mls_group_epoch_authenticator(b, eb);
    CHECK(memcmp(ea, eb, sizeof ea) == 0);
    mls_commit_out_free(&out);
    mls_group_free(a);
    mls_group_free(b);
    mls_extension_list_free(&ext);
    mls_extension_list_free(&bad);
    sp_buf_free(&kb);
    sp_buf_free_secret(&pb);
    sp_buf_free(&tree);
}

int main(void)
{
    test_rules();
    test_extensions();
    test_simulation();
    return check_done();
}
