/*
 * test_store_checkpoint.c — WAL checkpoints run on the store's checkpoint thread, not inside
 * commits: after commits that grow the log past 1000 pages the thread runs one at once, and the
 * log file stops growing (sqlite restarts it once everything is copied back), on a real file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "tmpdir.h"
#include "base/wal_checkpointer.h"
#include "store/internal.h"
#include "store/own_frames.h"

CHECK_MAIN_DEFS

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* One transaction of n frames of len bytes each, numbered from *seq. */
static sp_err write_frames(store_db *db, uint64_t *seq, int n, size_t len)
{
    uint8_t *body = malloc(len);
    if (!body)
        return SP_ERR_NOMEM;
    memset(body, 0xa5, len);
    sp_err e = store_tx_begin(db);
    for (int i = 0; !e && i < n; i++)
        e = store_own_frame_put(db, ++*seq, body, len);
    e = store_tx_end(db, e);
    free(body);
    return e;
}

static int wait_runs(store_db *db, unsigned long more_than, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        if (sp_wal_checkpointer_runs(db->ckpt) > more_than)
            return 1;
        usleep(10000);
    }
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/sp-test-ckpt-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128], wal[140], err[256];
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    if (!db)
        return check_done();
    CHECK_MSG(db->ckpt != NULL, "the store runs a checkpoint thread");
    uint64_t seq = 0;
    /* A small commit: under the threshold, nothing is asked of the thread. */
    unsigned long before = sp_wal_checkpointer_runs(db->ckpt);
    CHECK(write_frames(db, &seq, 10, 1000) == SP_OK);
    usleep(100000);
    CHECK_MSG(sp_wal_checkpointer_runs(db->ckpt) == before, "no checkpoint for a small log (runs %lu -> %lu)",
              before, sp_wal_checkpointer_runs(db->ckpt));
    /* ~1,500 pages in one commit: the thread checkpoints at once (well before its 1 s period). */
    CHECK(write_frames(db, &seq, 400, 15000) == SP_OK);
    CHECK_MSG(wait_runs(db, before, 950), "a checkpoint ran within 0.95 s of the log passing 1000 pages (its period is 1 s)");
    long first = file_size(wal);
    /* Ten more such commits, each after the thread caught up: the log is reused, not grown. */
    for (int round = 0; round < 10; round++) {
        unsigned long r = sp_wal_checkpointer_runs(db->ckpt);
        CHECK(write_frames(db, &seq, 400, 15000) == SP_OK);
        CHECK(wait_runs(db, r, 1500));
    }
    long last = file_size(wal);
    CHECK_MSG(first > 0 && last > 0 && last <= first * 2,
              "the log file stays near one round's size (%ld then %ld bytes; 11 rounds written)", first, last);
    /* What was checkpointed is all there. */
    uint64_t max = 0;
    CHECK(store_own_frames_max(db, &max) == SP_OK && max == seq);
    store_close(db);
    db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "reopens: %s", err);
    if (db) {
        CHECK(store_own_frames_max(db, &max) == SP_OK && max == seq);
        store_close(db);
    }
    tmpdir_remove(dir);
    return check_done();
}
