/*
 * test_chat.c — the worker pool, chat/auth and chat/spaces on a real event loop and a real sqlite
 * file: results come back on the reactor, sessions behave, rules and error codes hold.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include "check.h"
#include "tmpdir.h"
#include "base/workers.h"
#include "chat/auth.h"
#include "chat/spaces.h"
#include "base/rand.h"
#include "store/messages.h"
#include "store/mls_state.h"

CHECK_MAIN_DEFS

static struct event_base *base;

/* Runs the loop until *flag becomes non-zero (or 10 s pass). */
static void run_until(int *flag)
{
    for (int i = 0; i < 10000 && !*flag; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

/* ---- workers ---------------------------------------------------------------------------- */

typedef struct {
    int worked, done, status_ok, status_cancel;
    pthread_t reactor;
    int on_reactor;
} wstate;

static void w_work(void *arg)
{
    __atomic_add_fetch(&((wstate *)arg)->worked, 1, __ATOMIC_SEQ_CST);
    usleep(2000);
}

static void w_done(void *arg, sp_err st)
{
    wstate *s = arg;
    s->done++;
    if (st == SP_OK)
        s->status_ok++;
    else if (st == SP_ERR_STATE)
        s->status_cancel++;
    s->on_reactor += pthread_equal(pthread_self(), s->reactor) ? 1 : 0;
}

static void test_workers(void)
{
    sp_workers *w = NULL;
    CHECK(sp_workers_new(base, 0, &w) == SP_ERR_INVALID);
    CHECK(sp_workers_new(base, 2, &w) == SP_OK);
    wstate s = {0};
    s.reactor = pthread_self();
    for (int i = 0; i < 10; i++)
        CHECK(sp_workers_submit(w, w_work, w_done, &s) == SP_OK);
    CHECK(sp_workers_pending(w) == 10);
    int all = 0;
    for (int i = 0; i < 5000 && s.done < 10; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    all = s.done == 10;
    CHECK(all);
    CHECK(s.worked == 10 && s.status_ok == 10 && s.on_reactor == 10);
    CHECK(sp_workers_pending(w) == 0);
    /* freeing with jobs queued: each done() runs once, the unstarted ones as cancelled */
    wstate t = {0};
    t.reactor = pthread_self();
    for (int i = 0; i < 20; i++)
        CHECK(sp_workers_submit(w, w_work, w_done, &t) == SP_OK);
    sp_workers_free(w);
    CHECK(t.done == 20 && t.status_ok + t.status_cancel == 20 && t.status_cancel > 0);
    CHECK(t.worked == t.status_ok);
}

/* ---- auth ------------------------------------------------------------------------------ */

typedef struct {
    int called;
    sp_err err;
    chat_session s;
} result;

static void on_auth(void *ctx, sp_err err, const chat_session *s)
{
    result *r = ctx;
    r->called++;
    r->err = err;
    if (s)
        r->s = *s;
}

static sp_err create(chat_auth *a, const char *u, const char *p, result *r)
{
    memset(r, 0, sizeof *r);
    sp_err e = chat_auth_create_profile(a, u, p, on_auth, r, NULL);
    if (e == SP_OK)
        run_until(&r->called);
    return e;
}

static sp_err unlock(chat_auth *a, const char *u, const char *p, result *r)
{
    memset(r, 0, sizeof *r);
    sp_err e = chat_auth_unlock(a, u, p, on_auth, r, NULL);
    if (e == SP_OK)
        run_until(&r->called);
    return e;
}

static void test_auth(store_db *db)
{
    sp_workers *w = NULL;
    CHECK(sp_workers_new(base, 2, &w) == SP_OK);
    chat_kdf_params cheap = {1024, 1, 1}; /* fast for tests; the daemon uses the defaults */
    chat_auth *a = NULL;
    CHECK(chat_auth_new(db, w, &cheap, &a) == SP_OK);
    result r;

    CHECK(create(a, "alice", "pw1", &r) == SP_OK);
    CHECK(r.called == 1 && r.err == SP_OK);
    CHECK(strlen(r.s.token) == 64 && strlen(r.s.user_id) == 36 && strcmp(r.s.username, "alice") == 0);
    chat_session alice = r.s;
    chat_session got;
    CHECK(chat_auth_check(a, alice.token, &got) == SP_OK && strcmp(got.user_id, alice.user_id) == 0);

    CHECK(create(a, "alice", "x", &r) == SP_ERR_EXISTS && r.called == 0);
    CHECK(create(a, "bob", "", &r) == SP_ERR_INVALID);
    CHECK(create(a, "", "pw", &r) == SP_ERR_INVALID);
    CHECK(create(a, "has space", "pw", &r) == SP_ERR_INVALID);
    CHECK(create(a, "ünï", "pw", &r) == SP_ERR_INVALID);
    char longname[70];
    memset(longname, 'a', 65);
    longname[65] = 0;
    CHECK(create(a, longname, "pw", &r) == SP_ERR_INVALID);
    longname[64] = 0;
    CHECK(create(a, longname, "pw", &r) == SP_OK && r.err == SP_OK);
    char longpw[1100];
    memset(longpw, 'p', 1025);
    longpw[1025] = 0;
    CHECK(create(a, "carol", longpw, &r) == SP_ERR_INVALID);
    longpw[1024] = 0;
    CHECK(create(a, "carol", longpw, &r) == SP_OK && r.err == SP_OK);

    CHECK(unlock(a, "alice", "pw1", &r) == SP_OK && r.err == SP_OK);
    CHECK(strcmp(r.s.user_id, alice.user_id) == 0 && strcmp(r.s.token, alice.token) != 0);
    chat_session second = r.s;
    CHECK(unlock(a, "alice", "pw2", &r) == SP_OK && r.err == SP_ERR_AUTH);
    CHECK(unlock(a, "zed", "pw1", &r) == SP_OK && r.err == SP_ERR_AUTH);
    CHECK(unlock(a, "", "pw1", &r) == SP_OK && r.err == SP_OK && strcmp(r.s.username, "alice") == 0);
    CHECK(unlock(a, longpw, "x", &r) == SP_ERR_INVALID);
    int n = chat_auth_session_count(a);

    CHECK(chat_auth_lock(a, second.token) == SP_OK);
    CHECK(chat_auth_session_count(a) == n - 1);
    CHECK(chat_auth_check(a, second.token, &got) == SP_ERR_AUTH);
    CHECK(chat_auth_lock(a, second.token) == SP_ERR_AUTH);
    CHECK(chat_auth_check(a, alice.token, &got) == SP_OK);
    CHECK(chat_auth_check(a, "", &got) == SP_ERR_AUTH);
    CHECK(chat_auth_check(a, NULL, &got) == SP_ERR_AUTH);
    char wrong[65];
    memcpy(wrong, alice.token, 65);
    wrong[63] = wrong[63] == 'a' ? 'b' : 'a';
    CHECK(chat_auth_check(a, wrong, &got) == SP_ERR_AUTH);

    /* at most 64 sessions per user: the oldest goes first */
    CHECK(unlock(a, "carol", longpw, &r) == SP_OK && r.err == SP_OK);
    chat_session carol_first = r.s;
    for (int i = 0; i < 64; i++)
        CHECK(unlock(a, "carol", longpw, &r) == SP_OK && r.err == SP_OK);
    CHECK(chat_auth_check(a, carol_first.token, &got) == SP_ERR_AUTH);
    CHECK(chat_auth_check(a, r.s.token, &got) == SP_OK);
    CHECK(chat_auth_check(a, alice.token, &got) == SP_OK); /* other users untouched */

    /* a cancelled op: its callback never runs, and a cancelled create stores nothing */
    memset(&r, 0, sizeof r);
    chat_auth_op *op = NULL;
    CHECK(chat_auth_create_profile(a, "dave", "pw", on_auth, &r, &op) == SP_OK && op);
    chat_auth_op_cancel(op);
    for (int i = 0; i < 200; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK(r.called == 0);
    CHECK(create(a, "dave", "pw", &r) == SP_OK && r.err == SP_OK);

    /* freeing the auth with hashes in flight, then the pool: no callback, no leak, no crash */
    memset(&r, 0, sizeof r);
    CHECK(chat_auth_unlock(a, "alice", "pw1", on_auth, &r, NULL) == SP_OK);
    CHECK(chat_auth_unlock(a, "alice", "pw1", on_auth, &r, NULL) == SP_OK);
    chat_auth_free(a);
    sp_workers_free(w);
    CHECK(r.called == 0);

    /* a new auth on the same database, with a different default cost: the profiles remain and
     * still unlock (each hash is checked with the parameters stored beside it), the sessions
     * do not */
    CHECK(sp_workers_new(base, 1, &w) == SP_OK);
    chat_kdf_params other = {2048, 2, 1};
    CHECK(chat_auth_new(db, w, &other, &a) == SP_OK);
    CHECK(chat_auth_check(a, alice.token, &got) == SP_ERR_AUTH);
    CHECK(unlock(a, "alice", "pw1", &r) == SP_OK && r.err == SP_OK);
    /* freeing the pool first: in-flight ops are answered as shut down */
    memset(&r, 0, sizeof r);
    CHECK(chat_auth_unlock(a, "alice", "pw1", on_auth, &r, NULL) == SP_OK);
    CHECK(chat_auth_unlock(a, "alice", "pw1", on_auth, &r, NULL) == SP_OK);
    CHECK(chat_auth_unlock(a, "alice", "pw1", on_auth, &r, NULL) == SP_OK);
    sp_workers_free(w);
    CHECK(r.called == 3);
    chat_auth_free(a);
}

/* ---- spaces ----------------------------------------------------------------------------- */

static int hook_calls;
static sp_err hook_result;
static store_db *hook_db;

static sp_err hook(void *ctx, const store_channel *ch, const char *creator)
{
    (void)ctx;
    hook_calls++;
    /* the hook writes in the same transaction (as the MLS group creation will) */
    uint8_t blob[3] = {1, 2, 3};
    sp_err e = store_mls_state_put(hook_db, ch->id, creator, 0, blob, 3);
    return e ? e : hook_result;
}

static void test_spaces(store_db *db)
{
    chat_spaces *s = NULL;
    CHECK(chat_spaces_new(db, &s) == SP_OK);
    const char *u1 = "11111111-1111-4111-8111-111111111111", *u2 = "22222222-2222-4222-8222-222222222222";
    store_space sp;
    CHECK(chat_space_create(s, u1, "Space", "desc", 0, &sp) == SP_OK);
    CHECK(sp.visibility == CHAT_VISIBILITY_PRIVATE && chat_id_valid(sp.id) && sp.n_members == 1);
    char sid[65];
    memcpy(sid, sp.id, 65);
    store_space_clear(&sp);
    CHECK(chat_space_create(s, u1, "Pub", NULL, 1, &sp) == SP_OK && sp.visibility == 1);
    store_space_clear(&sp);
    CHECK(chat_space_create(s, u1, "", "", 0, &sp) == SP_ERR_INVALID);
    CHECK(chat_space_create(s, u1, "   ", "", 0, &sp) == SP_ERR_INVALID);
    CHECK(chat_space_create(s, u1, "a\nb", "", 0, &sp) == SP_ERR_INVALID);
    CHECK(chat_space_create(s, u1, "ok", "multi\nline", 0, &sp) == SP_OK);
    store_space_clear(&sp);
    CHECK(chat_space_create(s, u1, "\xc0\xaf", "", 0, &sp) == SP_ERR_INVALID);      /* overlong */
    CHECK(chat_space_create(s, u1, "\xed\xa0\x80", "", 0, &sp) == SP_ERR_INVALID);  /* surrogate */
    CHECK(chat_space_create(s, u1, "\xe2\x82", "", 0, &sp) == SP_ERR_INVALID);      /* truncated */
    CHECK(chat_space_create(s, u1, "caf\xc3\xa9 \xf0\x9f\x90\xbc", "", 0, &sp) == SP_OK);
    store_space_clear(&sp);
    CHECK(chat_space_create(s, u1, "x", "", 3, &sp) == SP_ERR_INVALID);
    CHECK(chat_space_create(s, u1, "x", "", -1, &sp) == SP_ERR_INVALID);
    char name[102];
    memset(name, 'n', 101);
    name[101] = 0;
    CHECK(chat_space_create(s, u1, name, "", 0, &sp) == SP_ERR_INVALID);
    name[100] = 0;
    CHECK(chat_space_create(s, u1, name, "", 0, &sp) == SP_OK);
    store_space_clear(&sp);

    CHECK(chat_space_get(s, u1, sid, &sp) == SP_OK && strcmp(sp.name, "Space") == 0);
    store_space_clear(&sp);
    CHECK(chat_space_get(s, u2, sid, &sp) == SP_ERR_PERMISSION);
    CHECK(chat_space_get(s, u1, "abc", &sp) == SP_ERR_INVALID);
    char upper[65];
    for (int i = 0; i < 64; i++)
        upper[i] = (char)(sid[i] >= 'a' ? sid[i] - 32 : sid[i]);
    upper[64] = 0;
    CHECK(chat_space_get(s, u1, upper, &sp) == SP_ERR_INVALID || strcmp(upper, sid) == 0);
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = 0;
    CHECK(chat_space_get(s, u1, zero, &sp) == SP_ERR_NOT_FOUND);
    store_space *v = NULL;
    size_t n = 0;
    CHECK(chat_space_list(s, u1, &v, &n) == SP_OK && n == 5);
    store_spaces_free(v, n);
    CHECK(chat_space_list(s, u2, &v, &n) == SP_OK && n == 0);
    store_spaces_free(v, n);

    /* channels, with the creation hook */
    hook_db = db;
    chat_spaces_set_channel_hook(s, hook, NULL);
    CHECK(chat_spaces_set_self_peer(s, "self-peer") == SP_OK);
    store_channel ch;
    hook_result = SP_OK;
    CHECK(chat_channel_create(s, u1, sid, "general", "", 0, &ch) == SP_OK);
    CHECK(hook_calls == 1 && ch.visibility == CHAT_VISIBILITY_PRIVATE && ch.n_members == 1);
    CHECK(ch.home_peer_id && strcmp(ch.home_peer_id, "self-peer") == 0);
    uint64_t ep = 9;
    uint8_t *blob = NULL;
    size_t bl = 0;
    CHECK(store_mls_state_get(db, ch.id, u1, &ep, &blob, &bl) == SP_OK && ep == 0 && bl == 3);
    free(blob);
    store_channel_clear(&ch);
    /* a failing hook rolls the whole channel back */
    hook_result = SP_ERR_CRYPTO;
    CHECK(chat_channel_create(s, u1, sid, "doomed", "", 0, &ch) == SP_ERR_CRYPTO);
    store_channel *cv = NULL;
    CHECK(chat_channel_list(s, u1, sid, &cv, &n) == SP_OK && n == 1);
    store_channels_free(cv, n);
    hook_result = SP_OK;
    chat_spaces_set_channel_hook(s, NULL, NULL);
    CHECK(chat_channel_create(s, u1, sid, "pub", "", 1, &ch) == SP_OK && ch.visibility == 1);
    store_channel_clear(&ch);
    CHECK(chat_channel_create(s, u2, sid, "x", "", 0, &ch) == SP_ERR_PERMISSION);
    CHECK(chat_channel_create(s, u1, zero, "x", "", 0, &ch) == SP_ERR_NOT_FOUND);
    CHECK(chat_channel_create(s, u1, "zz", "x", "", 0, &ch) == SP_ERR_INVALID);
    CHECK(chat_channel_create(s, u1, sid, "", "", 0, &ch) == SP_ERR_INVALID);
    CHECK(chat_channel_create(s, u1, sid, "x", "", 5, &ch) == SP_ERR_INVALID);
    CHECK(chat_channel_list(s, u1, sid, &cv, &n) == SP_OK && n == 2);
    store_channels_free(cv, n);
    CHECK(chat_channel_list(s, u2, sid, &cv, &n) == SP_ERR_PERMISSION);
    CHECK(chat_channel_list(s, u1, zero, &cv, &n) == SP_ERR_NOT_FOUND);
    /* a second member of the space sees only the public channel */
    CHECK(store_space_add_member(db, sid, u2) == SP_OK);
    CHECK(chat_channel_list(s, u2, sid, &cv, &n) == SP_OK && n == 1 && cv[0].visibility == 1);
    store_channels_free(cv, n);
    chat_spaces_free(s);
}

int main(void)
{
    base = event_base_new();
    char dir[] = "/tmp/sp-test-chat-XXXXXX";
    if (!base || !mkdtemp(dir))
        return 1;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/chat.db", dir);
    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    test_workers();
    if (db) {
        test_auth(db);
        test_spaces(db);
        store_close(db);
    }
    event_base_free(base);
    tmpdir_remove(dir);
    return check_done();
}
