/* syncer.c — the store's fsync thread (see syncer.h). */
#include "store/syncer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

struct store_syncer {
    store_db *db;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t asked;   /* highest ticket handed out */
    uint64_t synced;  /* highest ticket on stable storage */
    int failed;       /* an fdatasync failed since the last store_syncer_done */
};

static void *run(void *arg)
{
    store_syncer *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->asked == s->synced)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->asked == s->synced)
            break; /* stopping, nothing left */
        uint64_t target = s->asked;
        pthread_mutex_unlock(&s->mu);
        sp_err e = store_sync(s->db); /* covers every commit made before target was asked */
        pthread_mutex_lock(&s->mu);
        if (e)
            s->failed = 1; /* target is passed all the same: store_syncer_done reports it */
        s->synced = target;
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof one) < 0 && errno != EAGAIN)
            SP_WARN("store: cannot signal a finished sync: %s", strerror(errno));
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

sp_err store_syncer_start(store_db *db, store_syncer **out)
{
    *out = NULL;
    store_syncer *s = calloc(1, sizeof *s);
    if (!s)
        return SP_ERR_NOMEM;
    s->db = db;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        free(s);
        return SP_ERR_IO;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        close(s->efd);
        free(s);
        return SP_ERR_INTERNAL;
    }
    *out = s;
    return SP_OK;
}

sp_err store_syncer_stop(store_syncer *s)
{
    if (!s)
        return SP_OK;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    sp_err e = s->failed ? SP_ERR_IO : SP_OK;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    close(s->efd);
    free(s);
    return e;
}

uint64_t store_syncer_request(store_syncer *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t t = ++s->asked;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return t;
}

int store_syncer_fd(const store_syncer *s) { return s->efd; }

sp_err store_syncer_done(store_syncer *s, uint64_t *synced)
{
    uint64_t n;
    while (read(s->efd, &n, sizeof n) > 0)
        ;
    pthread_mutex_lock(&s->mu);
    *synced = s->synced;
    int failed = s->failed;
    s->failed = 0;
    pthread_mutex_unlock(&s->mu);
    return failed ? SP_ERR_IO : SP_OK;
}

uint64_t store_syncer_pending(const store_syncer *s)
{
    store_syncer *m = (store_syncer *)s;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->asked - m->synced;
    pthread_mutex_unlock(&m->mu);
    return n;
}
