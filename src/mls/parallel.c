/* parallel.c — the pool behind mls_parallel_for: one mutex guards the pool
 * and the running job, items are claimed one at a time under it (an item
 * costs tens of µs, a claim tens of ns), so there are no atomics to reason
 * about and the order in which items are handed out is plain. */
#include "mls/parallel.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    mls_parallel_fn fn;
    void *arg;
    size_t n;
    size_t next;    /* the next item to hand out */
    size_t fail_at; /* the lowest failed item so far (n: none) */
    sp_err err;     /* its error */
    unsigned helpers, max_helpers; /* pool threads that joined / may join */
    unsigned active;               /* pool threads still inside */
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a job was posted */
    pthread_cond_t idle; /* the last helper left the job */
    job *job;            /* the running job, NULL when none */
    unsigned long gen;   /* bumped per job, so a helper joins each job once */
    unsigned started;    /* pool threads running */
    unsigned threads;    /* the setting; 0 until first read */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .idle = PTHREAD_COND_INITIALIZER};

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* fork copies only the calling thread: the child's pool has no threads. The
 * lock is held across fork so the child never sees a half-changed pool. */
static void before_fork(void) { pthread_mutex_lock(&pool.lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.lock); }
static void after_fork_child(void)
{
    /* the helpers waiting on the conditions do not exist here; this thread
     * took the lock in before_fork */
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.idle, NULL);
    pool.job = NULL;
    pool.started = 0;
    pthread_mutex_unlock(&pool.lock);
}
static void atfork_init(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

static unsigned default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        return 1;
    return cpus > MLS_PARALLEL_DEFAULT_MAX ? MLS_PARALLEL_DEFAULT_MAX : (unsigned)cpus;
}

void mls_parallel_set_threads(unsigned n)
{
    pthread_mutex_lock(&pool.lock);
    pool.threads = n == 0 ? default_threads() : n > MLS_PARALLEL_MAX ? MLS_PARALLEL_MAX : n;
    pthread_mutex_unlock(&pool.lock);
}

/* With pool.lock held. */
static unsigned threads_locked(void)
{
    if (!pool.threads)
        pool.threads = default_threads();
    return pool.threads;
}

unsigned mls_parallel_threads(void)
{
    pthread_mutex_lock(&pool.lock);
    unsigned n = threads_locked();
    pthread_mutex_unlock(&pool.lock);
    return n;
}

/* Claims and runs items until none is left (or only ones above a failure). */
static void run_items(job *j)
{
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        size_t i = j->next < j->fail_at ? j->next++ : j->n;
        pthread_mutex_unlock(&pool.lock);
        if (i >= j->n)
            return;
        sp_err e = j->fn(j->arg, i);
        if (e) {
            pthread_mutex_lock(&pool.lock);
            if (i < j->fail_at) {
                j->fail_at = i;
                j->err = e;
            }
            pthread_mutex_unlock(&pool.lock);
        }
    }
}

static void *helper(void *unused)
{
    (void)unused;
    unsigned long seen = 0; /* gen starts at 0 and every job bumps it */
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.job || pool.gen == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        seen = pool.gen;
        job *j = pool.job;
        if (j->helpers >= j->max_helpers)
            continue;
        j->helpers++;
        j->active++;
        pthread_mutex_unlock(&pool.lock);
        run_items(j);
        pthread_mutex_lock(&pool.lock);
        if (--j->active == 0)
            pthread_cond_signal(&pool.idle);
    }
    return NULL;
}

/* Starts pool threads up to `want`, with pool.lock held; returns how many run. */
static unsigned start_helpers(unsigned want)
{
    if (pool.started >= want)
        return pool.started;
    pthread_once(&atfork_once, atfork_init);
    /* inherited by the helpers: they take no asynchronous signal (the
     * daemon's handlers run on its own threads), but a fault in an item
     * still reaches the process's handlers (sanitizers, core dumps) */
    sigset_t all, old;
    sigfillset(&all);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&all, faults[i]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    int attr_ok = pthread_attr_init(&attr) == 0;
    if (attr_ok)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (pool.started < want) {
        pthread_t t;
        if (pthread_create(&t, attr_ok ? &attr : NULL, helper, NULL) != 0)
            break; /* run with what there is */
        if (!attr_ok)
            pthread_detach(t);
        pool.started++;
    }
    if (attr_ok)
        pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pool.started;
}

static sp_err serial(size_t n, mls_parallel_fn fn, void *arg)
{
    for (size_t i = 0; i < n; i++) {
        sp_err e = fn(arg, i);
        if (e)
            return e;
    }
    return SP_OK;
}

sp_err mls_parallel_for(size_t n, mls_parallel_fn fn, void *arg)
{
    if (n < 2)
        return serial(n, fn, arg);
    pthread_mutex_lock(&pool.lock);
    unsigned want = threads_locked() - 1;
    if (pool.job || want == 0) {
        pthread_mutex_unlock(&pool.lock); /* busy (or nested), or serial by setting */
        return serial(n, fn, arg);
    }
    unsigned have = start_helpers(want);
    if (have == 0) {
        pthread_mutex_unlock(&pool.lock);
        return serial(n, fn, arg);
    }
    job j;
    memset(&j, 0, sizeof j);
    j.fn = fn;
    j.arg = arg;
    j.n = n;
    j.fail_at = n;
    j.max_helpers = want < n - 1 ? want : (unsigned)(n - 1);
    pool.job = &j;
    pool.gen++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_items(&j);

    pthread_mutex_lock(&pool.lock);
    while (j.active)
        pthread_cond_wait(&pool.idle, &pool.lock);
    pool.job = NULL; /* a helper waking now finds no job, or the next one */
    sp_err e = j.fail_at < n ? j.err : SP_OK;
    pthread_mutex_unlock(&pool.lock);
    return e;
}

sp_err mls_rand_fixed(void *src, uint8_t *out, size_t n)
{
    mls_rand_fixed_src *s = src;
    if (n > s->n)
        return SP_ERR_STATE;
    memcpy(out, s->p, n);
    s->p += n;
    s->n -= n;
    return SP_OK;
}

sp_err mls_rand_items(const mls_rand *rng, size_t n, size_t each, uint8_t *out)
{
    if (!rng)
        return mls_rand_bytes(NULL, out, n * each);
    for (size_t i = 0; i < n; i++) {
        sp_err e = mls_rand_bytes(rng, out + i * each, each);
        if (e)
            return e;
    }
    return SP_OK;
}
