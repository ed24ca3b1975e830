/*
 * test_net_store.c — the store's own-frames table and chat/net_store.c, which keeps this node's own
 * gossip frames in the store (one fsync per send) and passes everyone else's through to net's log:
 * on a real sqlite file, with net's in-memory log as the inner persistence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include "check.h"
#include "tmpdir.h"
#include "chat/channels.h"
#include "chat/net_store.h"
#include "chat/channels_int.h"
#include "chat/spaces.h"
#include "net/frame.h"
#include "store/mls_state.h"
#include "net/persist.h"
#include "store/db.h"
#include "store/own_frames.h"

CHECK_MAIN_DEFS

typedef struct {
    uint64_t seqs[16];
    char bodies[16][16];
    size_t n;
} seen_frames;

static int collect(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
    seen_frames *s = arg;
    if (s->n < 16) {
        s->seqs[s->n] = seq;
        snprintf(s->bodies[s->n], sizeof s->bodies[0], "%.*s", (int)len, (const char *)body);
        s->n++;
    }
    return 0;
}

static void test_own_frames(store_db *db)
{
    uint64_t max = 99;
    CHECK(store_own_frames_max(db, &max) == SP_OK && max == 0);
    CHECK(store_own_frame_put(db, 1, (const uint8_t *)"one", 3) == SP_OK);
    CHECK(store_own_frame_put(db, 2, (const uint8_t *)"two", 3) == SP_OK);
    CHECK(store_own_frame_put(db, 3, (const uint8_t *)"three", 5) == SP_OK);
    /* a held sequence is refused and keeps its body */
    CHECK(store_own_frame_put(db, 2, (const uint8_t *)"TWO", 3) == SP_ERR_EXISTS);
    CHECK(store_own_frame_put(db, 0, (const uint8_t *)"zero", 4) == SP_ERR_INVALID);
    CHECK(store_own_frame_put(db, 5, NULL, 4) == SP_ERR_INVALID);
    CHECK(store_own_frames_max(db, &max) == SP_OK && max == 3);
    int held = 0;
    CHECK(store_own_frame_held(db, 3, &held) == SP_OK && held == 1);
    CHECK(store_own_frame_held(db, 4, &held) == SP_OK && held == 0);
    CHECK(store_own_frame_held(db, 0, &held) == SP_OK && held == 0);
    seen_frames s = {0};
    CHECK(store_own_frames_after(db, 1, 10, collect, &s) == SP_OK);
    CHECK(s.n == 2 && s.seqs[0] == 2 && s.seqs[1] == 3);
    CHECK(!strcmp(s.bodies[0], "two") && !strcmp(s.bodies[1], "three"));
    memset(&s, 0, sizeof s);
    CHECK(store_own_frames_after(db, 0, 1, collect, &s) == SP_OK && s.n == 1 && s.seqs[0] == 1);
    /* a rolled-back transaction leaves nothing behind */
    CHECK(store_tx_begin(db) == SP_OK);
    CHECK(store_own_frame_put(db, 4, (const uint8_t *)"four", 4) == SP_OK);
    CHECK(store_tx_end(db, SP_ERR_IO) == SP_ERR_IO);
    CHECK(store_own_frame_held(db, 4, &held) == SP_OK && held == 0);
}

typedef struct {
    uint8_t origin[8][NET_PUBKEY_LEN];
    uint64_t contig[8], max[8];
    size_t n;
} seen_origins;

static void collect_origin(void *arg, const uint8_t origin[NET_PUBKEY_LEN], uint64_t contig, uint64_t max)
{
    seen_origins *s = arg;
    if (s->n < 8) {
        memcpy(s->origin[s->n], origin, NET_PUBKEY_LEN);
        s->contig[s->n] = contig;
        s->max[s->n++] = max;
    }
}

typedef struct {
    const uint8_t *self;
    int n, bad;
} void_check;

/* Each frame must be one of ours, a broadcast, of type CHAT_PT_VOID, with nothing in it. */
static int check_void(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
    void_check *v = arg;
    net_gossip g;
    static const uint8_t zero[NET_PUBKEY_LEN];
    int ok = net_gossip_decode((sp_slice){body, len}, &g) == SP_OK && g.seq == seq &&
             !memcmp(g.origin, v->self, NET_PUBKEY_LEN) && !memcmp(g.dest, zero, NET_PUBKEY_LEN) &&
             g.ptype == CHAT_PT_VOID && g.payload.len == 0;
    v->n++;
    v->bad += !ok;
    return 0;
}

static void test_wrap(struct event_base *base, store_db *db)
{
    uint8_t self[NET_PUBKEY_LEN], other[NET_PUBKEY_LEN];
    memset(self, 0x11, sizeof self);
    memset(other, 0x22, sizeof other);
    chat_spaces *sp = NULL;
    chat_channels *ch = NULL;
    net_persist *inner = NULL, *w = NULL;
    CHECK(chat_spaces_new(db, &sp) == SP_OK);
    /* The first engine on a store that never recorded a stop (new, or from before sends left
     * early) has nothing to skip: below, our frame numbers go on from 5. */
    CHECK(chat_channels_new(base, db, sp, NULL, &ch) == SP_OK);
    CHECK(net_persist_mem_new(&inner) == SP_OK);
    if (!sp || !ch || !inner)
        return;
    /* An older version logged our frames 1..5 in net's log: the store has 1..3 (test_own_frames). */
    const char *old[] = {"one", "two", "three", "four", "five"};
    for (uint64_t i = 1; i <= 5; i++)
        CHECK(inner->frame_append(inner->ctx, self, i, (const uint8_t *)old[i - 1], strlen(old[i - 1])) == SP_OK);
    CHECK(inner->frame_append(inner->ctx, other, 1, (const uint8_t *)"theirs", 6) == SP_OK);
    CHECK(chat_net_persist_wrap(inner, ch, self, &w) == SP_OK);
    if (!w) {
        net_persist_free(inner);
        return;
    }
    uint64_t max = 0, contig = 0;
    CHECK(store_own_frames_max(db, &max) == SP_OK && max == 5); /* 4 and 5 were adopted */
    CHECK(w->origin_state(w->ctx, self, &contig, &max) == SP_OK && contig == 5 && max == 5);
    /* our next frame goes to the store, not to net's log */
    CHECK(w->frame_append(w->ctx, self, 6, (const uint8_t *)"six", 3) == SP_OK);
    CHECK(w->frame_append(w->ctx, self, 6, (const uint8_t *)"six", 3) == SP_ERR_EXISTS);
    int seen = 0;
    CHECK(store_own_frame_held(db, 6, &seen) == SP_OK && seen == 1);
    CHECK(inner->frame_seen(inner->ctx, self, 6, &seen) == SP_OK && seen == 0);
    CHECK(w->frame_seen(w->ctx, self, 6, &seen) == SP_OK && seen == 1);
    CHECK(w->frame_seen(w->ctx, self, 7, &seen) == SP_OK && seen == 0);
    seen_frames s = {0};
    CHECK(w->frames_after(w->ctx, self, 4, 10, collect, &s) == SP_OK);
    CHECK(s.n == 2 && s.seqs[0] == 5 && s.seqs[1] == 6 && !strcmp(s.bodies[0], "five"));
    /* everyone else's frames stay in net's log */
    CHECK(w->frame_append(w->ctx, other, 2, (const uint8_t *)"more", 4) == SP_OK);
    CHECK(inner->frame_seen(inner->ctx, other, 2, &seen) == SP_OK && seen == 1);
    CHECK(w->origin_state(w->ctx, other, &contig, &max) == SP_OK && contig == 2 && max == 2);
    memset(&s, 0, sizeof s);
    CHECK(w->frames_after(w->ctx, other, 0, 10, collect, &s) == SP_OK && s.n == 2 && !strcmp(s.bodies[0], "theirs"));
    /* origins: ours once (from the store), theirs from net's log */
    seen_origins o = {0};
    CHECK(w->origins(w->ctx, collect_origin, &o) == SP_OK);
    int ours = 0, theirs = 0;
    for (size_t i = 0; i < o.n; i++) {
        if (!memcmp(o.origin[i], self, NET_PUBKEY_LEN)) {
            ours++;
            CHECK(o.contig[i] == 6 && o.max[i] == 6);
        }
        if (!memcmp(o.origin[i], other, NET_PUBKEY_LEN)) {
            theirs++;
            CHECK(o.contig[i] == 2);
        }
    }
    CHECK(ours == 1 && theirs == 1 && o.n == 2);
    /* nothing open: sync and flush have nothing to commit and succeed */
    CHECK(w->sync(w->ctx) == SP_OK);
    CHECK(w->flush(w->ctx) == SP_OK);
    /* Wrapping again adopts nothing more (the store is ahead of net's log now). */
    net_persist_free(w);
    CHECK(net_persist_mem_new(&inner) == SP_OK);
    if (inner) {
        CHECK(chat_net_persist_wrap(inner, ch, self, &w) == SP_OK);
        CHECK(store_own_frames_max(db, &max) == SP_OK && max == 6);
        if (w)
            net_persist_free(w);
    }
    chat_channels_free(ch);

    /* A start after an unclean stop (the engine never freed: the flag says "running"): our next
     * CHAT_SEND_SKIP frame numbers are skipped, each filled with a void frame. */
    static const uint8_t running[8] = {0};
    CHECK(store_meta_put(db, "stop:clean", running, 8) == SP_OK);
    CHECK(chat_channels_new(base, db, sp, NULL, &ch) == SP_OK);
    CHECK(net_persist_mem_new(&inner) == SP_OK);
    if (ch && inner) {
        CHECK(chat_net_persist_wrap(inner, ch, self, &w) == SP_OK);
        CHECK(store_own_frames_max(db, &max) == SP_OK && max == 6 + CHAT_SEND_SKIP);
        if (w) {
            CHECK(w->origin_state(w->ctx, self, &contig, &max) == SP_OK && contig == 6 + CHAT_SEND_SKIP);
            void_check vc = {self, 0, 0};
            CHECK(w->frames_after(w->ctx, self, 6, 1000, check_void, &vc) == SP_OK);
            CHECK_MSG(vc.n == CHAT_SEND_SKIP && vc.bad == 0, "%d void frames (%d not void)", vc.n, vc.bad);
            net_persist_free(w);
        }
        chat_channels_free(ch);
        /* stopped cleanly again: the next start skips nothing */
        CHECK(chat_channels_new(base, db, sp, NULL, &ch) == SP_OK);
        CHECK(net_persist_mem_new(&inner) == SP_OK);
        CHECK(chat_net_persist_wrap(inner, ch, self, &w) == SP_OK);
        CHECK(store_own_frames_max(db, &max) == SP_OK && max == 6 + CHAT_SEND_SKIP);
        if (w)
            net_persist_free(w);
        chat_channels_free(ch);
    }
    chat_spaces_free(sp);
}

int main(void)
{
    struct event_base *base = event_base_new();
    char dir[] = "/tmp/sp-test-netstore-XXXXXX";
    if (!base || !mkdtemp(dir))
        return 1;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/store.db", dir);
    store_db *db = NULL;
    CHECK_MSG(store_open(path, &db, err, sizeof err) == SP_OK, "%s", err);
    if (db) {
        test_own_frames(db);
        test_wrap(base, db);
        store_close(db);
    }
    event_base_free(base);
    tmpdir_remove(dir);
    return check_done();
}
