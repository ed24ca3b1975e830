/* wal_checkpointer.c — a WAL checkpoint thread for an sqlite file (see wal_checkpointer.h). */
#include "base/wal_checkpointer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <sqlite3.h>

#include "base/log.h"

struct sp_wal_checkpointer {
    sqlite3 *sq;
    unsigned period_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked;
    unsigned long runs;
};

static void *run(void *arg)
{
    sp_wal_checkpointer *cp = arg;
    int failing = 0;
    pthread_mutex_lock(&cp->mu);
    while (!cp->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += cp->period_ms / 1000;
        until.tv_nsec += (long)(cp->period_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!cp->stop && !cp->kicked && pthread_cond_timedwait(&cp->cv, &cp->mu, &until) != ETIMEDOUT)
            ;
        if (cp->stop)
            break;
        cp->kicked = 0;
        pthread_mutex_unlock(&cp->mu);
        int nlog = 0, ncopied = 0;
        int rc = sqlite3_wal_checkpoint_v2(cp->sq, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ncopied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && !failing++)
            SP_WARN("%s: background checkpoint failed: %s (the log grows until one succeeds)", sqlite3_db_filename(cp->sq, "main"),
                    sqlite3_errmsg(cp->sq));
        else if (rc == SQLITE_OK)
            failing = 0;
        pthread_mutex_lock(&cp->mu);
        cp->runs++;
    }
    pthread_mutex_unlock(&cp->mu);
    return NULL;
}

sp_err sp_wal_checkpointer_start(const char *path, unsigned period_ms, sp_wal_checkpointer **out)
{
    *out = NULL;
    sp_wal_checkpointer *cp = calloc(1, sizeof *cp);
    if (!cp)
        return SP_ERR_NOMEM;
    cp->period_ms = period_ms ? period_ms : 1;
    if (sqlite3_open_v2(path, &cp->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        SP_ERROR("checkpoint connection to %s: %s", path, cp->sq ? sqlite3_errmsg(cp->sq) : "no memory");
        sqlite3_close(cp->sq);
        free(cp);
        return SP_ERR_IO;
    }
    sqlite3_busy_timeout(cp->sq, 1000);
    /* A connection learns the file is in WAL mode only once it has read it: before that a
     * checkpoint does nothing. */
    if (sqlite3_exec(cp->sq, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        SP_ERROR("checkpoint connection to %s: %s", path, sqlite3_errmsg(cp->sq));
        sqlite3_close(cp->sq);
        free(cp);
        return SP_ERR_IO;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cp->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&cp->mu, NULL);
    if (pthread_create(&cp->thread, NULL, run, cp) != 0) {
        pthread_cond_destroy(&cp->cv);
        pthread_mutex_destroy(&cp->mu);
        sqlite3_close(cp->sq);
        free(cp);
        return SP_ERR_NOMEM;
    }
    *out = cp;
    return SP_OK;
}

void sp_wal_checkpointer_stop(sp_wal_checkpointer *cp)
{
    if (!cp)
        return;
    pthread_mutex_lock(&cp->mu);
    cp->stop = 1;
    pthread_cond_signal(&cp->cv);
    pthread_mutex_unlock(&cp->mu);
    pthread_join(cp->thread, NULL);
    pthread_cond_destroy(&cp->cv);
    pthread_mutex_destroy(&cp->mu);
    sqlite3_close(cp->sq);
    free(cp);
}

void sp_wal_checkpointer_kick(sp_wal_checkpointer *cp)
{
    if (!cp)
        return;
    pthread_mutex_lock(&cp->mu);
    if (!cp->kicked) {
        cp->kicked = 1;
        pthread_cond_signal(&cp->cv);
    }
    pthread_mutex_unlock(&cp->mu);
}

unsigned long sp_wal_checkpointer_runs(sp_wal_checkpointer *cp)
{
    if (!cp)
        return 0;
    pthread_mutex_lock(&cp->mu);
    unsigned long n = cp->runs;
    pthread_mutex_unlock(&cp->mu);
    return n;
}
