/* commit.c — group commit at the end of each reactor turn (see commit.h). */
#include "chat/commit.h"

#include <stdlib.h>
#include <event2/event.h>
#include "base/log.h"

typedef struct pending {
    struct pending *next;
    chat_write_fn write;
    void *arg;
    chat_written_fn done;
    void *ctx;
    sp_err err;
} pending;

struct chat_committer {
    store_db *db;
    struct event *ev;
    pending *head, *tail;
    uint64_t transactions, writes;
};

static void on_turn_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    chat_commit_flush(arg);
}

sp_err chat_committer_new(struct event_base *base, store_db *db, chat_committer **out)
{
    *out = NULL;
    chat_committer *c = calloc(1, sizeof *c);
    if (!c)
        return SP_ERR_NOMEM;
    c->db = db;
    /* A zero timeout fires on the loop's next pass, after every callback already made ready by
     * this pass's I/O: that is what lets many writes share one commit. */
    c->ev = evtimer_new(base, on_turn_end, c);
    if (!c->ev) {
        free(c);
        return SP_ERR_NOMEM;
    }
    *out = c;
    return SP_OK;
}

void chat_committer_free(chat_committer *c)
{
    if (!c)
        return;
    chat_commit_flush(c);
    event_free(c->ev);
    free(c);
}

sp_err chat_commit_enqueue(chat_committer *c, chat_write_fn write, void *arg, chat_written_fn done,
                           void *ctx)
{
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return SP_ERR_NOMEM;
    p->write = write;
    p->arg = arg;
    p->done = done;
    p->ctx = ctx;
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    if (!evtimer_pending(c->ev, NULL)) {
        struct timeval zero = {0, 0};
        evtimer_add(c->ev, &zero);
    }
    return SP_OK;
}

void chat_commit_flush(chat_committer *c)
{
    pending *list = c->head;
    c->head = c->tail = NULL;
    if (!list)
        return;
    evtimer_del(c->ev);
    sp_err commit = store_tx_begin(c->db);
    if (!commit) {
        for (pending *p = list; p; p = p->next) {
            /* each write in its own savepoint: its failure must not undo the others */
            p->err = store_tx_begin(c->db);
            if (!p->err)
                p->err = store_tx_end(c->db, p->write(c->db, p->arg));
        }
        commit = store_tx_end(c->db, SP_OK);
        if (commit)
            SP_ERROR("commit: group commit failed: %s", sp_strerror(commit));
    }
    c->transactions++;
    /* Callbacks may enqueue more writes: those go to the next turn's transaction. */
    while (list) {
        pending *p = list;
        list = p->next;
        c->writes++;
        p->done(p->ctx, p->err ? p->err : commit);
        free(p);
    }
}

void chat_commit_stats(const chat_committer *c, uint64_t *transactions, uint64_t *writes)
{
    if (transactions)
        *transactions = c->transactions;
    if (writes)
        *writes = c->writes;
}
