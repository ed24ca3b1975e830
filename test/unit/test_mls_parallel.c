/* test_mls_parallel.c — mls/parallel.h and the operations that use it.
 *
 * The helper: every item runs exactly once; the error reported is the lowest
 * failing item's (what a serial loop gives) and every item below it ran;
 * items really are spread over threads; a nested call and concurrent callers
 * fall back to serial and stay correct; a forked child gets a working pool.
 *
 * The group operations: with the same deterministic randomness, a 40-member
 * Add commit, an Add commit with a path, a self-update and a remove made with
 * 1, 2 and 4 threads are byte-identical (commit, Welcome, ratchet tree);
 * members process and join from the threaded outputs and agree on the epoch;
 * key packages with bad signatures among many valid ones fail the commit
 * with the same error as the serial path, no output and the state unchanged;
 * a tree with bad leaf signatures fails validation with any thread count. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mls/codec.h"
#include "mls/group.h"
#include "mls/group_internal.h"
#include "mls/parallel.h"

CHECK_MAIN_DEFS

/* ---- the helper ------------------------------------------------------------------------------ */

#define N_ITEMS 1000

typedef struct {
    int hits[N_ITEMS];
    pthread_t who[N_ITEMS];
    size_t fail_a, fail_b; /* items that fail (N_ITEMS: none) */
    useconds_t nap;        /* per item, so helpers get a chance to join */
} count_job;

static sp_err count_item(void *arg, size_t i)
{
    count_job *c = arg;
    c->hits[i]++;
    c->who[i] = pthread_self();
    if (c->nap)
        usleep(c->nap);
    if (i == c->fail_a)
        return SP_ERR_CRYPTO;
    if (i == c->fail_b)
        return SP_ERR_INVALID;
    return SP_OK;
}

static count_job *new_job(size_t fail_a, size_t fail_b, useconds_t nap)
{
    count_job *c = calloc(1, sizeof *c);
    c->fail_a = fail_a;
    c->fail_b = fail_b;
    c->nap = nap;
    return c;
}

static void test_counts(unsigned threads)
{
    mls_parallel_set_threads(threads);
    CHECK(mls_parallel_threads() == threads);
    count_job *c = new_job(N_ITEMS, N_ITEMS, 0);
    CHECK(mls_parallel_for(0, count_item, c) == SP_OK);
    CHECK(c->hits[0] == 0);
    CHECK(mls_parallel_for(1, count_item, c) == SP_OK);
    CHECK(c->hits[0] == 1);
    memset(c->hits, 0, sizeof c->hits);
    CHECK(mls_parallel_for(N_ITEMS, count_item, c) == SP_OK);
    int once = 1;
    for (size_t i = 0; i < N_ITEMS; i++)
        once &= c->hits[i] == 1;
    CHECK_MSG(once, "%u threads: an item ran twice or never", threads);
    free(c);

    /* items 700 and 300 fail: 300's error, everything below 300 ran once */
    c = new_job(700, 300, 0);
    CHECK(mls_parallel_for(N_ITEMS, count_item, c) == SP_ERR_INVALID);
    int below = 1, at_most_once = 1;
    for (size_t i = 0; i < N_ITEMS; i++) {
        below &= i > 300 || c->hits[i] == 1;
        at_most_once &= c->hits[i] <= 1;
    }
    CHECK_MSG(below, "%u threads: an item below the failure did not run", threads);
    CHECK(at_most_once);
    free(c);
    c = new_job(5, 6, 0);
    CHECK(mls_parallel_for(N_ITEMS, count_item, c) == SP_ERR_CRYPTO);
    free(c);
}

static void test_spread(void)
{
    mls_parallel_set_threads(2);
    count_job *c = new_job(N_ITEMS, N_ITEMS, 2000);
    CHECK(mls_parallel_for(8, count_item, c) == SP_OK);
    int others = 0;
    for (size_t i = 0; i < 8; i++)
        others += !pthread_equal(c->who[i], pthread_self());
    CHECK_MSG(others > 0 && others < 8, "items on other threads: %d of 8", others);
    free(c);
    mls_parallel_set_threads(1);
    c = new_job(N_ITEMS, N_ITEMS, 0);
    CHECK(mls_parallel_for(64, count_item, c) == SP_OK);
    int here = 1;
    for (size_t i = 0; i < 64; i++)
        here &= pthread_equal(c->who[i], pthread_self()) != 0;
    CHECK_MSG(here, "1 thread: items ran elsewhere");
    free(c);
}

/* An item that runs a whole inner loop itself. */
typedef struct {
    count_job inner[16];
} nest_job;

static sp_err nested_item(void *arg, size_t i)
{
    nest_job *n = arg;
    sp_err e = mls_parallel_for(50, count_item, &n->inner[i]);
    for (size_t k = 0; !e && k < 50; k++)
        if (n->inner[i].hits[k] != 1 || !pthread_equal(n->inner[i].who[k], pthread_self()))
            e = SP_ERR_INTERNAL;
    return e;
}

static void test_nested(void)
{
    mls_parallel_set_threads(2);
    nest_job *n = calloc(1, sizeof *n);
    for (size_t i = 0; i < 16; i++)
        n->inner[i].fail_a = n->inner[i].fail_b = N_ITEMS;
    CHECK_MSG(mls_parallel_for(16, nested_item, n) == SP_OK,
              "a nested loop did not run serially on its item's thread");
    free(n);
}

static void *caller(void *arg)
{
    int *ok = arg;
    *ok = 1;
    for (int r = 0; r < 50; r++) {
        count_job *c = new_job(r % 2 ? 40 : N_ITEMS, N_ITEMS, 0);
        sp_err e = mls_parallel_for(64, count_item, c);
        int once = 1;
        for (size_t i = 0; i < 64; i++)
            once &= (r % 2 && i > 40) || c->hits[i] == 1;
        *ok &= once && e == (r % 2 ? SP_ERR_CRYPTO : SP_OK);
        free(c);
    }
    return NULL;
}

static void test_concurrent_callers(void)
{
    mls_parallel_set_threads(2);
    pthread_t t[3];
    int ok[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, caller, &ok[i]) == 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        CHECK_MSG(ok[i], "caller %d got a wrong result", i);
    }
}

static void test_fork(void)
{
    mls_parallel_set_threads(2); /* the pool has run above: the child must start its own */
    pid_t pid = fork();
    if (pid == 0) {
        count_job *c = new_job(N_ITEMS, N_ITEMS, 1000);
        int ok = mls_parallel_for(16, count_item, c) == SP_OK;
        for (size_t i = 0; i < 16; i++)
            ok &= c->hits[i] == 1;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child's loop failed");
}

static void test_rand_helpers(void)
{
    uint8_t bytes[6] = {1, 2, 3, 4, 5, 6}, out[4];
    mls_rand_fixed_src src = {bytes, sizeof bytes};
    mls_rand r = {mls_rand_fixed, &src};
    CHECK(mls_rand_bytes(&r, out, 4) == SP_OK && out[0] == 1 && out[3] == 4);
    CHECK(mls_rand_bytes(&r, out, 4) == SP_ERR_STATE); /* only 2 left */
    CHECK(mls_rand_bytes(&r, out, 2) == SP_OK && out[0] == 5 && out[1] == 6);
    CHECK(mls_rand_bytes(&r, out, 1) == SP_ERR_STATE);
}

/* ---- group operations -------------------------------------------------------------------------- */

/* A deterministic random source whose position can be saved and restored. */
static uint64_t seed = 0x2545f4914f6cdd1dull;
static sp_err det_rand(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out[i] = (uint8_t)seed;
    }
    return SP_OK;
}
static const mls_rand RNG = {det_rand, NULL};

#define N_KP 72

typedef struct {
    sp_buf kp, priv;
} kpair;
static kpair kps[N_KP];

static void make_key_packages(void)
{
    for (int i = 0; i < N_KP; i++) {
        char id[16];
        snprintf(id, sizeof id, "user-%d", i + 1);
        CHECK(mls_key_package_make((const uint8_t *)id, strlen(id), NULL, &RNG, &kps[i].kp,
                                   &kps[i].priv) == SP_OK);
    }
}

static int same_buf(const sp_buf *a, const sp_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static int same_out(const mls_commit_out *a, const mls_commit_out *b)
{
    return same_buf(&a->commit, &b->commit) && same_buf(&a->welcome, &b->welcome) &&
           same_buf(&a->ratchet_tree, &b->ratchet_tree);
}

/* A commit of Add proposals for kps[from, from+n) made directly, so that it
 * can carry a path (mls_group_add makes path-less adds). */
static sp_err add_with_path(const mls_group *g, int from, int n, mls_commit_out *out,
                            mls_group **next)
{
    mls_proposal *p = calloc(n, sizeof *p);
    sp_err e = p ? SP_OK : SP_ERR_NOMEM;
    for (int i = 0; !e && i < n; i++) {
        mls_message m;
        e = mls_message_decode(kps[from + i].kp.data, kps[from + i].kp.len, &m);
        if (!e) {
            p[i].type = MLS_PROPOSAL_ADD;
            p[i].add = m.key_package;
            memset(&m.key_package, 0, sizeof m.key_package);
            mls_message_free(&m);
        }
    }
    if (!e)
        e = mls_commit_create(g, p, n, 1, out, next);
    for (int i = 0; p && i < n; i++)
        mls_proposal_free(&p[i]);
    free(p);
    return e;
}

enum { OP_ADD, OP_ADD_PATH, OP_SELF_UPDATE, OP_REMOVE };

static sp_err run_op(int op, const mls_group *g, int from, int n, mls_commit_out *out,
                     mls_group **next)
{
    sp_slice sl[N_KP];
    uint32_t victims[2] = {3, 20};
    switch (op) {
    case OP_ADD:
        for (int i = 0; i < n; i++)
            sl[i] = sp_buf_slice(&kps[from + i].kp);
        return mls_group_add(g, sl, n, out, next);
    case OP_ADD_PATH:
        return add_with_path(g, from, n, out, next);
    case OP_SELF_UPDATE:
        return mls_group_self_update(g, out, next);
    default:
        return mls_group_remove(g, victims, 2, out, next);
    }
}

/* The op with 1, 2 and 4 threads from the same randomness: identical bytes.
 * Leaves the 2-thread result in *out / *next and the rng after it. */
static void same_for_all_threads(int op, const mls_group *g, int from, int n,
                                 mls_commit_out *out, mls_group **next)
{
    static const unsigned threads[] = {1, 4, 2};
    mls_commit_out ref = {0};
    uint64_t start = seed;
    for (size_t t = 0; t < 3; t++) {
        mls_parallel_set_threads(threads[t]);
        seed = start;
        mls_commit_out o;
        mls_group *nx = NULL;
        sp_err e = run_op(op, g, from, n, &o, &nx);
        CHECK_MSG(e == SP_OK, "op %d with %u threads: %s", op, threads[t], sp_strerror(e));
        if (t == 0) {
            ref = o;
            mls_group_free(nx);
            continue;
        }
        CHECK_MSG(same_out(&ref, &o), "op %d: %u threads give other bytes than 1", op,
                  threads[t]);
        if (t == 2) {
            *out = o;
            *next = nx;
        } else {
            mls_commit_out_free(&o);
            mls_group_free(nx);
        }
    }
    mls_commit_out_free(&ref);
}

static mls_group *members[1 + N_KP];
static size_t n_members;

static void join_all(const mls_commit_out *o, int from, int n)
{
    for (int i = 0; i < n; i++) {
        mls_group *g = NULL;
        /* half with the tree out of band */
        int oob = i % 2;
        sp_err e = mls_group_join(o->welcome.data, o->welcome.len,
                                  oob ? o->ratchet_tree.data : NULL, oob ? o->ratchet_tree.len : 0,
                                  kps[from + i].priv.data, kps[from + i].priv.len, NULL, 0, &RNG,
                                  &g);
        CHECK_MSG(e == SP_OK, "joiner %d: %s", from + i, sp_strerror(e));
        members[n_members++] = g;
    }
}

static void process_all(const mls_commit_out *o, size_t first, size_t count)
{
    for (size_t i = first; i < count; i++) {
        mls_process_info info;
        if (!members[i])
            continue;
        sp_err e = mls_group_process(members[i], o->commit.data, o->commit.len, &info);
        CHECK_MSG(e == SP_OK, "member %zu: %s", i, sp_strerror(e));
    }
}

static int all_agree(void)
{
    uint8_t a[MLS_HASH_LEN], b[MLS_HASH_LEN];
    mls_group_epoch_authenticator(members[0], a);
    for (size_t i = 1; i < n_members; i++) {
        if (!members[i])
            continue;
        mls_group_epoch_authenticator(members[i], b);
        if (mls_group_epoch(members[i]) != mls_group_epoch(members[0]) || memcmp(a, b, sizeof a))
            return 0;
    }
    return 1;
}

/* kps[from, from+n) with the key package signature (its last byte) of items
 * bad_a and bad_b flipped: refused as on the serial path, nothing changed. */
static void bad_key_packages(int from, int n, int bad_a, int bad_b)
{
    mls_group *g = members[0];
    kps[from + bad_a].kp.data[kps[from + bad_a].kp.len - 1] ^= 1;
    kps[from + bad_b].kp.data[kps[from + bad_b].kp.len - 1] ^= 1;
    sp_buf before = SP_BUF_INIT, after = SP_BUF_INIT;
    CHECK(mls_group_save(g, &before) == SP_OK);
    sp_err serial_err = SP_OK;
    static const unsigned threads[] = {1, 2, 4};
    for (size_t t = 0; t < 3; t++) {
        mls_parallel_set_threads(threads[t]);
        mls_commit_out o;
        mls_group *nx = (mls_group *)1;
        sp_err e = run_op(OP_ADD, g, from, n, &o, &nx);
        if (t == 0)
            serial_err = e;
        CHECK_MSG(e == SP_ERR_CRYPTO, "bad key packages with %u threads: %s", threads[t],
                  sp_strerror(e));
        CHECK(e == serial_err);
        CHECK(nx == NULL && o.commit.len == 0 && o.welcome.len == 0);
        mls_commit_out_free(&o);
    }
    CHECK(mls_group_save(g, &after) == SP_OK);
    CHECK_MSG(same_buf(&before, &after), "a refused commit changed the committer's state");
    sp_buf_free_secret(&before);
    sp_buf_free_secret(&after);
    kps[from + bad_a].kp.data[kps[from + bad_a].kp.len - 1] ^= 1;
    kps[from + bad_b].kp.data[kps[from + bad_b].kp.len - 1] ^= 1;
}

/* The joiner's tree check, whose leaf signatures are verified on several
 * threads: the group's tree passes; with leaf signatures broken, it fails
 * the same way with 1, 2 and 4 threads. */
static void tree_validation(const mls_group *g)
{
    sp_buf enc = SP_BUF_INIT;
    mls_tree *t = NULL;
    CHECK(mls_group_ratchet_tree(g, &enc) == SP_OK);
    CHECK(mls_tree_decode(enc.data, enc.len, &t) == SP_OK);
    static const unsigned threads[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        mls_parallel_set_threads(threads[i]);
        CHECK_MSG(mls_tree_validate(t, mls_group_id(g)) == SP_OK, "valid tree, %u threads",
                  threads[i]);
    }
    /* break the signatures of leaves 5 and 40 (found by their bytes) */
    static const uint32_t bad[] = {5, 40};
    for (size_t b = 0; b < 2; b++) {
        const mls_leaf_node *lf = mls_tree_leaf(t, mls_leaf(bad[b]));
        CHECK(lf && lf->signature.len == MLS_SIG_LEN);
        uint8_t *at = lf ? memmem(enc.data, enc.len, lf->signature.data, MLS_SIG_LEN) : NULL;
        CHECK(at != NULL);
        if (at)
            at[10] ^= 0x20;
    }
    mls_tree_free(t);
    t = NULL;
    CHECK(mls_tree_decode(enc.data, enc.len, &t) == SP_OK);
    for (size_t i = 0; t && i < 3; i++) {
        mls_parallel_set_threads(threads[i]);
        sp_err e = mls_tree_validate(t, mls_group_id(g));
        CHECK_MSG(e == SP_ERR_CRYPTO, "bad leaf signatures, %u threads: %s", threads[i],
                  sp_strerror(e));
    }
    mls_tree_free(t);
    sp_buf_free(&enc);
}

static void test_group(void)
{
    make_key_packages();
    CHECK(mls_group_create((const uint8_t *)"par", 3, (const uint8_t *)"user-0", 6, NULL, NULL,
                           &RNG, &members[0]) == SP_OK);
    n_members = 1;
    mls_commit_out o;
    mls_group *next;

    /* 40 adds without a path */
    bad_key_packages(0, 40, 3, 31);
    same_for_all_threads(OP_ADD, members[0], 0, 40, &o, &next);
    mls_group_apply(members[0], next);
    join_all(&o, 0, 40);
    mls_commit_out_free(&o);
    CHECK_MSG(all_agree(), "after the 40 adds");

    /* a path commit in the 41-member tree (every parent blank but the new path) */
    same_for_all_threads(OP_SELF_UPDATE, members[0], 0, 0, &o, &next);
    mls_group_apply(members[0], next);
    process_all(&o, 1, n_members);
    mls_commit_out_free(&o);
    CHECK_MSG(all_agree(), "after the self-update");

    /* 20 adds with a path: the joiners' path secrets, the UpdatePath excluding them */
    same_for_all_threads(OP_ADD_PATH, members[0], 40, 20, &o, &next);
    mls_group_apply(members[0], next);
    process_all(&o, 1, n_members);
    join_all(&o, 40, 20);
    mls_commit_out_free(&o);
    CHECK_MSG(all_agree(), "after the 20 adds with a path");

    /* a member other than the creator commits a remove; then more bad key packages */
    mls_group *tmp = members[0];
    members[0] = members[7];
    members[7] = tmp;
    same_for_all_threads(OP_REMOVE, members[0], 0, 0, &o, &next);
    mls_group_apply(members[0], next);
    process_all(&o, 1, n_members);
    mls_commit_out_free(&o);
    for (size_t i = 1; i < n_members; i++)
        if (members[i] && !mls_group_active(members[i])) {
            mls_group_free(members[i]);
            members[i] = NULL;
        }
    CHECK_MSG(all_agree(), "after the remove");
    bad_key_packages(60, 12, 0, 11);
    tree_validation(members[0]);

    for (size_t i = 0; i < n_members; i++)
        mls_group_free(members[i]);
    for (int i = 0; i < N_KP; i++) {
        sp_buf_free(&kps[i].kp);
        sp_buf_free_secret(&kps[i].priv);
    }
}

int main(void)
{
    test_counts(1);
    test_counts(2);
    test_counts(4);
    test_spread();
    test_nested();
    test_concurrent_callers();
    test_fork();
    test_rand_helpers();
    test_group();
    mls_parallel_set_threads(0);
    return check_done();
}
