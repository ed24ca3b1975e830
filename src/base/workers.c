/* workers.c — thread pool with a pipe back to the reactor. */
#include "base/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>

typedef struct job {
    struct job *next;
    sp_work_fn work;
    sp_work_done_fn done;
    void *arg;
} job;

struct sp_workers {
    struct event_base *base;
    struct event *wake_ev;
    int wake_rd, wake_wr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *todo_head, *todo_tail;   /* waiting for a worker */
    job *done_head, *done_tail;   /* finished, waiting for the reactor */
    int stopping;
    int pending;                  /* reactor's count: submitted, not yet handed back */
    int nthreads;
    pthread_t threads[];
};

static void push(job **head, job **tail, job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void *worker_main(void *p)
{
    sp_workers *w = p;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->todo_head && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping)
            break;
        job *j = w->todo_head;
        w->todo_head = j->next;
        if (!w->todo_head)
            w->todo_tail = NULL;
        pthread_mutex_unlock(&w->mu);
        j->work(j->arg);
        pthread_mutex_lock(&w->mu);
        int was_empty = w->done_head == NULL;
        push(&w->done_head, &w->done_tail, j);
        /* One byte per empty→non-empty transition is enough: the reactor drains the whole list. */
        if (was_empty) {
            ssize_t r;
            do
                r = write(w->wake_wr, "x", 1);
            while (r < 0 && errno == EINTR);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void run_done(sp_workers *w, sp_err status)
{
    pthread_mutex_lock(&w->mu);
    job *j = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (j) {
        job *next = j->next;
        w->pending--;
        j->done(j->arg, status);
        free(j);
        j = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    run_done(arg, SP_OK);
}

sp_err sp_workers_new(struct event_base *base, int nthreads, sp_workers **out)
{
    *out = NULL;
    if (!base || nthreads < 1 || nthreads > 64)
        return SP_ERR_INVALID;
    sp_workers *w = calloc(1, sizeof *w + (size_t)nthreads * sizeof(pthread_t));
    if (!w)
        return SP_ERR_NOMEM;
    w->base = base;
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        free(w);
        return SP_ERR_IO;
    }
    w->wake_rd = fds[0];
    w->wake_wr = fds[1];
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->wake_ev = event_new(base, w->wake_rd, EV_READ | EV_PERSIST, on_wake, w);
    if (!w->wake_ev || event_add(w->wake_ev, NULL) != 0) {
        sp_workers_free(w);
        return SP_ERR_NOMEM;
    }
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            sp_workers_free(w);
            return SP_ERR_IO;
        }
        w->nthreads++;
    }
    *out = w;
    return SP_OK;
}

sp_err sp_workers_submit(sp_workers *w, sp_work_fn work, sp_work_done_fn done, void *arg)
{
    if (!w || !work || !done)
        return SP_ERR_INVALID;
    job *j = calloc(1, sizeof *j);
    if (!j)
        return SP_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        free(j);
        return SP_ERR_STATE;
    }
    push(&w->todo_head, &w->todo_tail, j);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->pending++;
    return SP_OK;
}

int sp_workers_pending(const sp_workers *w)
{
    return w ? w->pending : 0;
}

void sp_workers_free(sp_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    run_done(w, SP_OK);
    /* What never ran: hand back as cancelled. */
    job *j = w->todo_head;
    w->todo_head = w->todo_tail = NULL;
    while (j) {
        job *next = j->next;
        w->pending--;
        j->done(j->arg, SP_ERR_STATE);
        free(j);
        j = next;
    }
    if (w->wake_ev)
        event_free(w->wake_ev);
    close(w->wake_rd);
    close(w->wake_wr);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
