/*
 * test_store_syncer.c — the store's fsync thread (store/syncer.h) on a real sqlite file: tickets
 * numbered 1, 2, ...; the eventfd readable only once a sync finished and cleared by
 * store_syncer_done; requests made while the thread is held up folded into one fdatasync (the
 * thread is parked in a signal handler so that this is certain, not a matter of timing); a failing
 * fdatasync reported once as SP_ERR_IO with later tickets still tried; stop syncing what was asked
 * (and nothing when nothing was), without hanging.
 *
 * Failures are made by pointing the store's log path (store/internal.h, db->wal_path) at a
 * directory: store_sync's open(O_RDWR) then fails with EISDIR.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "check.h"
#include "tmpdir.h"
#include "store/internal.h"
#include "store/own_frames.h"
#include "store/syncer.h"

CHECK_MAIN_DEFS

static int readable(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Waits (at most ms) until store_syncer_done reports at least ticket; returns what it reported
 * and ORs any error into *err. */
static uint64_t wait_synced(store_syncer *s, uint64_t ticket, int ms, sp_err *err)
{
    uint64_t synced = 0;
    for (int waited = 0; waited <= ms; waited += 10) {
        if (readable(store_syncer_fd(s), 10)) {
            sp_err e = store_syncer_done(s, &synced);
            if (e && err)
                *err = e;
            if (synced >= ticket)
                break;
        }
    }
    return synced;
}

static sp_err commit_frame(store_db *db, uint64_t seq)
{
    uint8_t body[200];
    memset(body, (int)seq, sizeof body);
    return store_own_frame_put(db, seq, body, sizeof body);
}

/* ---- parking the syncer thread ---------------------------------------------------------- */

/* The thread's kernel id: the one thread of the process that did not exist before start. */
static int list_tids(pid_t *tids, int max)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max)
        if (e->d_name[0] != '.')
            tids[n++] = (pid_t)atoi(e->d_name);
    closedir(d);
    return n;
}

/* Starts a syncer and finds its thread: the one that was not there just before. */
static pid_t start_syncer(store_db *db, store_syncer **s)
{
    pid_t before[64], after[64];
    int nb = list_tids(before, 64);
    if (store_syncer_start(db, s) != SP_OK)
        return 0;
    int na = list_tids(after, 64);
    pid_t tid = 0;
    int fresh = 0;
    for (int i = 0; i < na; i++) {
        int old = 0;
        for (int j = 0; j < nb; j++)
            old |= after[i] == before[j];
        if (!old) {
            tid = after[i];
            fresh++;
        }
    }
    return fresh == 1 ? tid : 0;
}

static volatile sig_atomic_t parked;
static int park_pipe[2];

/* Runs on the syncer thread: holds it until the test writes a byte (3 s at most, so that a
 * broken test cannot hang). Only async-signal-safe calls. */
static void park_handler(int sig)
{
    (void)sig;
    int saved = errno;
    parked = 1;
    struct pollfd p = {park_pipe[0], POLLIN, 0};
    if (poll(&p, 1, 3000) == 1) {
        char c;
        if (read(park_pipe[0], &c, 1) < 0) {
            /* nothing to do: released either way */
        }
    }
    parked = 0;
    errno = saved;
}

static int park(pid_t tid)
{
    parked = 0;
    if (syscall(SYS_tgkill, getpid(), tid, SIGUSR1) != 0)
        return 0;
    for (int i = 0; i < 200 && !parked; i++)
        usleep(5000);
    return parked;
}

static void unpark(void)
{
    if (write(park_pipe[1], "x", 1) != 1)
        fprintf(stderr, "cannot release the syncer thread\n");
}

static void *unpark_later(void *arg)
{
    (void)arg;
    usleep(100000);
    unpark();
    return NULL;
}

/* ---- stderr capture, to see whether a failing sync ran --------------------------------- */

static int saved_stderr = -1;
static FILE *cap;

static void capture_begin(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    cap = tmpfile();
    dup2(fileno(cap), 2);
}

/* Ends the capture; returns how many lines mention what. */
static int capture_end(const char *what)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(cap);
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, cap))
        n += strstr(line, what) != NULL;
    fclose(cap);
    return n;
}

int main(void)
{
    sp_log_set_level(SP_LOG_ERROR);
    char dir[] = "/tmp/sp-test-syncer-XXXXXX";
    if (!mkdtemp(dir) || pipe(park_pipe) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = park_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);

    char path[128], baddir[140], err[256];
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(baddir, sizeof baddir, "%s/not-a-log", dir);
    CHECK(mkdir(baddir, 0700) == 0);
    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    if (!db)
        return check_done();
    CHECK(store_set_durable(db, 0) == SP_OK);
    CHECK(commit_frame(db, 1) == SP_OK);
    CHECK_MSG(access(db->wal_path, F_OK) == 0, "a commit leaves a log file to sync (%s)", db->wal_path);

    store_syncer *s = NULL;
    pid_t tid = start_syncer(db, &s);
    CHECK(s != NULL);
    if (!s)
        return check_done();
    CHECK_MSG(tid != 0, "start runs one new thread");

    /* Nothing asked: nothing to report. */
    CHECK(store_syncer_pending(s) == 0);
    CHECK_MSG(!readable(store_syncer_fd(s), 50), "the fd is not readable before any request");
    uint64_t synced = 99;
    CHECK(store_syncer_done(s, &synced) == SP_OK && synced == 0);

    /* One request: ticket 1, the fd becomes readable, done reports it and clears the fd. */
    uint64_t t1 = store_syncer_request(s);
    CHECK(t1 == 1);
    CHECK_MSG(readable(store_syncer_fd(s), 2000), "readable once the sync finished");
    CHECK(store_syncer_done(s, &synced) == SP_OK && synced >= t1);
    CHECK(store_syncer_pending(s) == 0);
    CHECK_MSG(!readable(store_syncer_fd(s), 50), "done clears the fd");

    /* Requests made while the thread is held up: they return at once (never wait on the disk
     * thread), stay pending, and one fdatasync covers them all. */
    CHECK(commit_frame(db, 2) == SP_OK);
    CHECK_MSG(tid && park(tid), "the syncer thread is parked");
    uint64_t t[5];
    for (int i = 0; i < 5; i++)
        t[i] = store_syncer_request(s);
    CHECK(t[0] == 2 && t[1] == 3 && t[2] == 4 && t[3] == 5 && t[4] == 6);
    CHECK(store_syncer_pending(s) == 5);
    CHECK_MSG(!readable(store_syncer_fd(s), 50), "nothing finished while the thread is held up");
    CHECK(store_syncer_done(s, &synced) == SP_OK && synced == 1);
    unpark();
    CHECK(readable(store_syncer_fd(s), 2000));
    usleep(20000); /* a second sync, were there one, would have signalled by now */
    uint64_t signals = 0;
    CHECK(read(store_syncer_fd(s), &signals, sizeof signals) == sizeof signals);
    CHECK_MSG(signals == 1, "five requests folded into one sync (%llu signalled)", (unsigned long long)signals);
    CHECK(store_syncer_done(s, &synced) == SP_OK && synced == 6);
    CHECK(store_syncer_pending(s) == 0);

    /* A failing fdatasync: SP_ERR_IO once, its ticket still passed; later tickets are tried. */
    char *wal = db->wal_path;
    db->wal_path = baddir;
    sp_err e = SP_OK;
    capture_begin();
    uint64_t t7 = store_syncer_request(s);
    CHECK(t7 == 7);
    synced = wait_synced(s, t7, 2000, &e);
    int logged = capture_end("cannot sync");
    CHECK_MSG(e == SP_ERR_IO, "a failed sync is reported (%s)", sp_strerror(e));
    CHECK(synced == 7 && store_syncer_pending(s) == 0);
    CHECK_MSG(logged == 1, "the failure is logged once (%d)", logged);
    CHECK_MSG(store_syncer_done(s, &synced) == SP_OK && synced == 7, "the failure is reported only once");
    db->wal_path = wal;
    CHECK(commit_frame(db, 3) == SP_OK);
    e = SP_OK;
    uint64_t t8 = store_syncer_request(s);
    CHECK(t8 == 8 && wait_synced(s, t8, 2000, &e) == 8 && e == SP_OK);

    /* A failure among folded requests taints the call that reports them, not the next. */
    db->wal_path = baddir;
    CHECK(park(tid));
    for (int i = 0; i < 3; i++)
        store_syncer_request(s);
    capture_begin();
    unpark();
    e = SP_OK;
    synced = wait_synced(s, 11, 2000, &e);
    capture_end("cannot sync");
    CHECK(synced == 11 && e == SP_ERR_IO);
    db->wal_path = wal;

    /* Stop with nothing asked: no sync (with a log that cannot be synced, none is tried). */
    db->wal_path = baddir;
    capture_begin();
    store_syncer_stop(s);
    logged = capture_end("cannot sync");
    CHECK_MSG(logged == 0, "stop without a request syncs nothing (%d tries)", logged);
    db->wal_path = wal;

    /* Stop with a request pending: stop is called while the thread is still held up, so the
     * request is certainly pending then; stop returns, and only after it tried that sync. */
    s = NULL;
    tid = start_syncer(db, &s);
    CHECK(s && tid);
    if (!s)
        return check_done();
    /* one sync first: then the thread is surely waiting, without the lock, when it is parked */
    e = SP_OK;
    CHECK(store_syncer_request(s) == 1 && wait_synced(s, 1, 2000, &e) == 1 && e == SP_OK);
    CHECK(commit_frame(db, 4) == SP_OK);
    db->wal_path = baddir;
    CHECK(park(tid));
    CHECK(store_syncer_request(s) == 2 && store_syncer_pending(s) == 1);
    pthread_t releaser;
    CHECK(pthread_create(&releaser, NULL, unpark_later, NULL) == 0);
    capture_begin();
    store_syncer_stop(s);
    logged = capture_end("cannot sync");
    pthread_join(releaser, NULL);
    CHECK_MSG(logged == 1, "stop syncs the pending request before it returns (%d tries)", logged);
    db->wal_path = wal;

    /* Stop at once after a request on a healthy log: returns. */
    s = NULL;
    CHECK(store_syncer_start(db, &s) == SP_OK && s);
    if (s) {
        CHECK(commit_frame(db, 5) == SP_OK);
        store_syncer_request(s);
        store_syncer_stop(s);
    }
    store_syncer_stop(NULL);

    /* What was committed is all there. */
    uint64_t max = 0;
    CHECK(store_own_frames_max(db, &max) == SP_OK && max == 5);
    store_close(db);
    close(park_pipe[0]);
    close(park_pipe[1]);
    tmpdir_remove(dir);
    return check_done();
}
