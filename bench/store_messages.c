/*
 * store_messages.c — `make bench`: how fast the store keeps messages and reads history.
 *
 * Prints: messages stored per second, one transaction each (synchronous=FULL, the daemon's
 * setting, and NORMAL for comparison) and batched (1000 per transaction); then the time to read
 * the newest 50 messages of a channel (and 50 before a message in its middle) holding 10,000
 * versus 1,000,000 messages — it must not grow with the channel (two index descents).
 * The big channel is generated in one SQL statement, so the whole run stays well under a minute.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <event2/event.h>
#include "base/rand.h"
#include "store/db.h"
#include "store/messages.h"
#include "store/spaces.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_channel(store_db *db, const char *space, const char *chan)
{
    store_space s = {0};
    memcpy(s.id, space, 65);
    s.name = "bench";
    s.owner_id = "bench-user";
    s.visibility = 2;
    if (store_space_ensure(db, &s) != SP_OK)
        exit(1);
    store_channel c = {0};
    memcpy(c.id, chan, 65);
    memcpy(c.space_id, space, 65);
    c.name = "bench";
    c.visibility = 2;
    if (store_channel_create(db, &c, "bench-user") != SP_OK)
        exit(1);
}

static void fill(store_message *m, const char *chan, const char *content)
{
    memset(m, 0, sizeof *m);
    sp_uuid_v4(m->id);
    memcpy(m->channel_id, chan, 65);
    m->sender_id = "00000000-0000-4000-8000-000000000001";
    m->content = (char *)content;
    m->timestamp = store_now_ms();
}

/* One message per transaction for about `seconds`; returns messages per second. */
static double one_per_tx(store_db *db, const char *chan, double seconds)
{
    static const char content[] = "a message of about sixty bytes, typical for a chat line.";
    double t0 = now_s(), t;
    int n = 0;
    do {
        store_message m;
        fill(&m, chan, content);
        if (store_message_put(db, &m) != SP_OK) {
            fprintf(stderr, "put failed: %s\n", store_errmsg(db));
            exit(1);
        }
        n++;
        t = now_s() - t0;
    } while (t < seconds && n < 200000);
    return n / t;
}

static double batched(store_db *db, const char *chan, int total, int per_tx)
{
    static const char content[] = "a message of about sixty bytes, typical for a chat line.";
    store_message *v = calloc((size_t)per_tx, sizeof *v);
    double t0 = now_s();
    for (int done = 0; done < total; done += per_tx) {
        for (int i = 0; i < per_tx; i++)
            fill(&v[i], chan, content);
        size_t stored = 0;
        if (store_message_put_batch(db, v, (size_t)per_tx, &stored) != SP_OK || stored != (size_t)per_tx) {
            fprintf(stderr, "batch failed: %s\n", store_errmsg(db));
            exit(1);
        }
    }
    double r = total / (now_s() - t0);
    free(v);
    return r;
}

static void generate(const char *path, const char *chan, int n, int tag)
{
    sqlite3 *sq;
    if (sqlite3_open(path, &sq) != SQLITE_OK)
        exit(1);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; BEGIN;"
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < %d) "
             "INSERT INTO messages(message_id, channel_id, chan_seq, sender_id, content, timestamp) "
             "SELECT printf('%%08x-%%04x-4000-8000-%%012x', x, %d, x), '%s', x, "
             "'00000000-0000-4000-8000-000000000001', 'generated message number ' || x, "
             "1700000000000 + x FROM c; COMMIT; PRAGMA journal_mode=WAL;",
             n, tag, chan);
    char *err = NULL;
    if (sqlite3_exec(sq, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "generate: %s\n", err);
        exit(1);
    }
    sqlite3_close(sq);
}

/* Average µs of reading 50 messages: newest, and before the message at sequence `mid`. */
static void read_times(store_db *db, const char *chan, int n, int tag, const char *label)
{
    const int iters = 2000;
    double t0 = now_s();
    for (int i = 0; i < iters; i++) {
        store_message *v = NULL;
        size_t k = 0;
        if (store_messages_before(db, chan, NULL, 50, &v, &k) != SP_OK || k != 50)
            exit(1);
        store_messages_free(v, k);
    }
    double newest = (now_s() - t0) / iters * 1e6;
    char before[37];
    int mid = n / 2;
    snprintf(before, sizeof before, "%08x-%04x-4000-8000-%012x", mid, tag, mid);
    t0 = now_s();
    for (int i = 0; i < iters; i++) {
        store_message *v = NULL;
        size_t k = 0;
        if (store_messages_before(db, chan, before, 50, &v, &k) != SP_OK || k != 50 ||
            v[49].seq != mid - 1) {
            fprintf(stderr, "before read wrong\n");
            exit(1);
        }
        store_messages_free(v, k);
    }
    double middle = (now_s() - t0) / iters * 1e6;
    printf("  read newest 50 of %-9s %8.1f us   50 before the middle one %8.1f us\n", label, newest, middle);
}

int main(void)
{
    char dir[] = "/tmp/sp-bench-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    store_db *db = NULL;
    if (store_open(path, &db, err, sizeof err) != SP_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const char *space = "5555555555555555555555555555555555555555555555555555555555555555";
    const char *c_w = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *c_10k = "1000000000000000000000000000000000000000000000000000000000000000";
    const char *c_1m = "2000000000000000000000000000000000000000000000000000000000000000";
    make_channel(db, space, c_w);
    make_channel(db, space, c_10k);
    make_channel(db, space, c_1m);

    printf("store: messages written (sqlite %s, WAL)\n", sqlite3_libversion());
    printf("  one per transaction, synchronous=FULL (daemon default): %9.0f msg/s\n", one_per_tx(db, c_w, 2.0));
    store_set_durable(db, 0);
    printf("  one per transaction, synchronous=NORMAL:                %9.0f msg/s\n", one_per_tx(db, c_w, 2.0));
    store_set_durable(db, 1);
    printf("  batched, 1000 per transaction (FULL):                   %9.0f msg/s\n", batched(db, c_w, 50000, 1000));

    store_close(db);
    double t0 = now_s();
    generate(path, c_10k, 10000, 1);
    generate(path, c_1m, 1000000, 2);
    printf("store: generated 10,000 + 1,000,000 messages in %.1f s\n", now_s() - t0);
    if (store_open(path, &db, err, sizeof err) != SP_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    read_times(db, c_10k, 10000, 1, "10,000:");
    read_times(db, c_1m, 1000000, 2, "1,000,000:");
    store_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
