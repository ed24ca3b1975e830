/* mls_group.c — make bench: the costs of the group API at N = 32, 128, 1024
 * members (suite 0x0001, OpenSSL 3.0):
 *   add N-1 members in one commit (commit + Welcome), joining from that
 *   Welcome, a path commit (self-update) created and processed in a full
 *   tree (every parent node set), and a Remove commit created and processed.
 * "process" is timed at two receivers: the far side of the tree (the common
 * ancestor with the committer is the root: one decryption, one key derived)
 * and the committer's sibling (one decryption, log2(N) keys derived).
 *
 * To fill every parent node without N joins, members other than the two
 * timed ones are puppets: a copy of a joined member's state given another
 * leaf's keys, each committing once (this uses the library's internals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mls/group.h"
#include "mls/group_internal.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the machine is shared */
    return t.tv_sec + t.tv_nsec / 1e9;
}

#define DIE(...)                                                                      \
    do {                                                                              \
        fprintf(stderr, __VA_ARGS__);                                                 \
        exit(1);                                                                      \
    } while (0)
#define OK(x)                                                                         \
    do {                                                                              \
        sp_err e_ = (x);                                                              \
        if (e_)                                                                       \
            DIE("%s:%d: %s: %s\n", __FILE__, __LINE__, #x, sp_strerror(e_));           \
    } while (0)

typedef struct {
    sp_buf kp, priv;
} kpair;

/* A puppet: a copy of `from` acting as leaf `leaf` with that leaf's keys. */
static mls_group *puppet(const mls_group *from, uint32_t leaf, const kpair *k)
{
    mls_group *p;
    OK(mls_group_clone(from, &p));
    const uint8_t *b = k->priv.data + 1; /* version, sig priv, init priv, enc priv, key package */
    uint8_t pub[MLS_KEM_PUB_LEN];
    mls_signer_free(p->signer);
    memcpy(p->sig_priv, b, MLS_SIG_PRIV_LEN);
    OK(mls_signer_new(p->sig_priv, &p->signer));
    mls_privs_free(&p->privs);
    p->me = leaf;
    /* the leaf key: the last commit of this leaf (if any) replaced it, so only
     * puppets of untouched leaves are made */
    OK(mls_x25519_pub(b + 64, pub));
    OK(mls_privs_set(&p->privs, 2 * leaf, b + 64, pub));
    return p;
}

static void process_all(mls_group **gs, size_t n, const mls_commit_out *o)
{
    mls_process_info info;
    for (size_t i = 0; i < n; i++)
        OK(mls_group_process(gs[i], o->commit.data, o->commit.len, &info));
}

static void run(uint32_t n)
{
    kpair *k = calloc(n, sizeof *k);
    sp_slice *sl = calloc(n, sizeof *sl);
    for (uint32_t i = 1; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "user-%u", i);
        OK(mls_key_package_make((const uint8_t *)id, strlen(id), NULL, NULL, &k[i].kp, &k[i].priv));
        sl[i - 1] = sp_buf_slice(&k[i].kp);
    }
    mls_group *a, *next;
    OK(mls_group_create((const uint8_t *)"bench", 5, (const uint8_t *)"user-0", 6, NULL, NULL, NULL,
                        &a));
    mls_commit_out o;
    double t0 = now();
    OK(mls_group_add(a, sl, n - 1, &o, &next));
    double t_add = now() - t0;
    size_t welcome_len = o.welcome.len;
    mls_group_apply(a, next);

    /* the far receiver (last leaf) and the committer's sibling (leaf 1) join */
    mls_group *far, *sib;
    t0 = now();
    OK(mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, k[n - 1].priv.data, k[n - 1].priv.len,
                      NULL, 0, NULL, &far));
    double t_join = now() - t0;
    OK(mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, k[1].priv.data, k[1].priv.len, NULL,
                      0, NULL, &sib));
    mls_commit_out_free(&o);

    /* fill every parent: one commit from every other even leaf but ours */
    mls_group *timed[3] = {a, far, sib};
    for (uint32_t l = 2; l < n - 1; l += 2) {
        mls_group *p = puppet(far, l, &k[l]);
        OK(mls_group_self_update(p, &o, &next));
        process_all(timed, 3, &o);
        mls_commit_out_free(&o);
        mls_group_free(next);
        mls_group_free(p);
    }
    /* leaf n-2's pair and our own path (so the far side's branch is set too) */
    OK(mls_group_self_update(far, &o, &next));
    mls_process_info info;
    OK(mls_group_process(a, o.commit.data, o.commit.len, &info));
    OK(mls_group_process(sib, o.commit.data, o.commit.len, &info));
    mls_group_apply(far, next);
    mls_commit_out_free(&o);
    OK(mls_group_self_update(a, &o, &next));
    OK(mls_group_process(far, o.commit.data, o.commit.len, &info));
    OK(mls_group_process(sib, o.commit.data, o.commit.len, &info));
    mls_group_apply(a, next);
    mls_commit_out_free(&o);
    uint32_t blank = 0;
    for (uint32_t x = 0; x < mls_tree_width(a->tree); x++)
        blank += mls_tree_blank(a->tree, mls_node(x));
    if (blank)
        DIE("the tree still has %u blank nodes\n", blank);

    /* a path commit in the full tree: several rounds, median-free average */
    const int R = n >= 1024 ? 20 : 50;
    double t_create = 0, t_far = 0, t_sib = 0;
    for (int r = 0; r < R; r++) {
        t0 = now();
        OK(mls_group_self_update(a, &o, &next));
        t_create += now() - t0;
        mls_group *f2, *s2;
        OK(mls_group_clone(far, &f2));
        OK(mls_group_clone(sib, &s2));
        t0 = now();
        OK(mls_group_process(f2, o.commit.data, o.commit.len, &info));
        t_far += now() - t0;
        t0 = now();
        OK(mls_group_process(s2, o.commit.data, o.commit.len, &info));
        t_sib += now() - t0;
        mls_group_free(f2);
        mls_group_free(s2);
        mls_group_free(next);
        mls_commit_out_free(&o);
    }
    size_t commit_len;
    {
        OK(mls_group_self_update(a, &o, &next));
        commit_len = o.commit.len;
        mls_group_free(next);
        mls_commit_out_free(&o);
    }

    /* a Remove: of a member in the middle */
    uint32_t victim = n / 2;
    double t_rc = 0, t_rp = 0;
    for (int r = 0; r < R; r++) {
        t0 = now();
        OK(mls_group_remove(a, &victim, 1, &o, &next));
        t_rc += now() - t0;
        mls_group *f2;
        OK(mls_group_clone(far, &f2));
        t0 = now();
        OK(mls_group_process(f2, o.commit.data, o.commit.len, &info));
        t_rp += now() - t0;
        mls_group_free(f2);
        mls_group_free(next);
        mls_commit_out_free(&o);
    }

    printf("N=%-5u add %u: %8.1f ms (welcome %zu B)   join: %7.1f ms\n", n, n - 1, t_add * 1e3,
           welcome_len, t_join * 1e3);
    printf("        path commit (full tree, %zu B): create %.2f ms, process %.2f ms (far side) / %.2f ms (sibling)\n",
           commit_len, t_create / R * 1e3, t_far / R * 1e3, t_sib / R * 1e3);
    printf("        remove commit: create %.2f ms, process %.2f ms (far side)\n", t_rc / R * 1e3,
           t_rp / R * 1e3);
    fflush(stdout);

    mls_group_free(a);
    mls_group_free(far);
    mls_group_free(sib);
    for (uint32_t i = 0; i < n; i++) {
        sp_buf_free(&k[i].kp);
        sp_buf_free_secret(&k[i].priv);
    }
    free(k);
    free(sl);
}

int main(int argc, char **argv)
{
    printf("mls_group: MLS group operations, suite 0x0001 (CPU time of this thread per operation)\n");
    if (argc > 1) {
        run((uint32_t)atoi(argv[1]));
        return 0;
    }
    run(32);
    run(128);
    run(1024);
    return 0;
}
