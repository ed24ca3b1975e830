/* mls_group.c — make bench: the costs of the group API at N = 32, 128, 1024
 * members (suite 0x0001, OpenSSL 3.0):
 *   add N-1 members in one commit (commit + Welcome), joining from that
 *   Welcome, a path commit (self-update) created and processed in a full
 *   tree (every parent node set), and a Remove commit created and processed.
 * "process" is timed at two receivers: the far side of the tree (the common
 * ancestor with the committer is the root: one decryption, one key derived)
 * and the committer's sibling (one decryption, log2(N) keys derived).
 *
 * Some operations run on several threads (mls/parallel.h), so each is timed
 * in WALL time (CLOCK_MONOTONIC) and, next to it, in the CPU time of the
 * whole process (CLOCK_PROCESS_CPUTIME_ID: every thread's share); figures are
 * medians over several runs of the operation. The machine is shared: wall
 * time includes waiting for a core, so read the figures as ranges.
 *
 *   build/bench/mls_group [-t THREADS] [N]   (-t 1: serial; default: mls_parallel_threads())
 *
 * To fill every parent node without N joins, members other than the two
 * timed ones are puppets: a copy of a joined member's state given another
 * leaf's keys, each committing once (this uses the library's internals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mls/group.h"
#include "mls/group_internal.h"
#include "mls/parallel.h"

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The samples of one operation: wall and process CPU seconds per run. */
#define MAX_RUNS 64
typedef struct {
    double wall[MAX_RUNS], cpu[MAX_RUNS];
    int n;
    double w0, c0;
} timing;

static void t_start(timing *t)
{
    t->w0 = clock_s(CLOCK_MONOTONIC);
    t->c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void t_stop(timing *t)
{
    double w = clock_s(CLOCK_MONOTONIC), c = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (t->n < MAX_RUNS) {
        t->wall[t->n] = w - t->w0;
        t->cpu[t->n] = c - t->c0;
        t->n++;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* "wall W ms (cpu C ms)", medians, in ms */
static const char *fmt(const timing *t, char *buf, size_t len)
{
    double w = median(t->wall, t->n) * 1e3, c = median(t->cpu, t->n) * 1e3;
    const char *f = w >= 10 ? "%.1f ms (cpu %.1f)" : "%.2f ms (cpu %.2f)";
    snprintf(buf, len, f, w, c);
    return buf;
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

/* The timed operations, each in a function of its own so that a profile of
 * just them can be taken: valgrind --tool=callgrind --toggle-collect=timed_create ... */
static __attribute__((noinline)) void timed_create(mls_group *g, mls_commit_out *o,
                                                   mls_group **next)
{
    OK(mls_group_self_update(g, o, next));
}

static __attribute__((noinline)) void timed_process(mls_group *g, const mls_commit_out *o)
{
    mls_process_info info;
    OK(mls_group_process(g, o->commit.data, o->commit.len, &info));
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
    /* the add, several times from the same state (each pending state but the
     * last discarded) */
    const int RA = n >= 1024 ? 5 : 7;
    timing t_add = {0}, t_join = {0};
    for (int r = 0; r < RA; r++) {
        t_start(&t_add);
        OK(mls_group_add(a, sl, n - 1, &o, &next));
        t_stop(&t_add);
        if (r == RA - 1)
            break;
        mls_commit_out_free(&o);
        mls_group_free(next);
    }
    size_t welcome_len = o.welcome.len;
    mls_group_apply(a, next);

    /* the far receiver (last leaf) and the committer's sibling (leaf 1) join */
    mls_group *far, *sib;
    for (int r = 0; r < RA; r++) {
        t_start(&t_join);
        OK(mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, k[n - 1].priv.data,
                          k[n - 1].priv.len, NULL, 0, NULL, &far));
        t_stop(&t_join);
        if (r < RA - 1)
            mls_group_free(far);
    }
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

    /* a path commit in the full tree: several rounds */
    const int R = n >= 1024 ? 21 : 41;
    timing t_create = {0}, t_far = {0}, t_sib = {0};
    for (int r = 0; r < R; r++) {
        t_start(&t_create);
        timed_create(a, &o, &next);
        t_stop(&t_create);
        mls_group *f2, *s2;
        OK(mls_group_clone(far, &f2));
        OK(mls_group_clone(sib, &s2));
        t_start(&t_far);
        timed_process(f2, &o);
        t_stop(&t_far);
        t_start(&t_sib);
        timed_process(s2, &o);
        t_stop(&t_sib);
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
    timing t_rc = {0}, t_rp = {0};
    for (int r = 0; r < R; r++) {
        t_start(&t_rc);
        OK(mls_group_remove(a, &victim, 1, &o, &next));
        t_stop(&t_rc);
        mls_group *f2;
        OK(mls_group_clone(far, &f2));
        t_start(&t_rp);
        OK(mls_group_process(f2, o.commit.data, o.commit.len, &info));
        t_stop(&t_rp);
        mls_group_free(f2);
        mls_group_free(next);
        mls_commit_out_free(&o);
    }

    char b1[64], b2[64], b3[64];
    printf("N=%-5u add %u (commit + Welcome %zu B): %s   join: %s   [median of %d]\n", n, n - 1,
           welcome_len, fmt(&t_add, b1, sizeof b1), fmt(&t_join, b2, sizeof b2), RA);
    printf("        path commit (full tree, %zu B): create %s, process %s (far side) / %s (sibling)"
           "   [median of %d]\n",
           commit_len, fmt(&t_create, b1, sizeof b1), fmt(&t_far, b2, sizeof b2),
           fmt(&t_sib, b3, sizeof b3), R);
    printf("        remove commit: create %s, process %s (far side)\n", fmt(&t_rc, b1, sizeof b1),
           fmt(&t_rp, b2, sizeof b2));
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
    int c;
    while ((c = getopt(argc, argv, "t:")) != -1) {
        if (c != 't')
            DIE("usage: %s [-t THREADS] [N]\n", argv[0]);
        mls_parallel_set_threads((unsigned)atoi(optarg));
    }
    printf("mls_group: MLS group operations, suite 0x0001, %u thread(s) per operation;\n"
           "  WALL time (CLOCK_MONOTONIC) per operation, median of several runs, with the\n"
           "  process CPU time (CLOCK_PROCESS_CPUTIME_ID, all threads) of the same runs\n",
           mls_parallel_threads());
    if (optind < argc) {
        run((uint32_t)atoi(argv[optind]));
        return 0;
    }
    run(32);
    run(128);
    run(1024);
    return 0;
}
