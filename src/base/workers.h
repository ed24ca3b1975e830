/*
 * workers.h — a small pool of threads for work too slow for the reactor (argon2id hashing, large
 * MLS commits), handing each result back to the reactor thread.
 *
 * submit() queues a job; a worker runs work(arg) on its own thread; then done(arg, status) runs on
 * the reactor thread (the event_base given at creation), woken through a pipe. work() must not touch
 * reactor-owned state; done() may. Jobs still queued when the pool is freed never run: their done()
 * is called from sp_workers_free with status SP_ERR_STATE so their arg can be released.
 *
 * The pool and every function here belong to the reactor thread (except work callbacks).
 */
#ifndef SP_BASE_WORKERS_H
#define SP_BASE_WORKERS_H

#include "base/err.h"

struct event_base;
typedef struct sp_workers sp_workers;

typedef void (*sp_work_fn)(void *arg);
typedef void (*sp_work_done_fn)(void *arg, sp_err status);

/* nthreads in 1..64. SP_ERR_INVALID, SP_ERR_NOMEM, SP_ERR_IO (pipe/thread creation). */
sp_err sp_workers_new(struct event_base *base, int nthreads, sp_workers **out);
/* Queues one job. SP_ERR_NOMEM; SP_ERR_STATE after shutdown began. */
sp_err sp_workers_submit(sp_workers *w, sp_work_fn work, sp_work_done_fn done, void *arg);
/* Jobs queued or running, not yet handed back. */
int sp_workers_pending(const sp_workers *w);
/* Stops the threads (a running job finishes first), calls done(arg, SP_ERR_STATE) for jobs never
 * run and done(arg, SP_OK) for finished ones not yet handed back, then frees. NULL is fine. */
void sp_workers_free(sp_workers *w);

#endif
