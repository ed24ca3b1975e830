/*
 * test_store.c — the store on real sqlite files in a temporary directory: every typed API, its
 * failure paths, transactions, and the refusal of files we must not touch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "check.h"
#include "tmpdir.h"
#include "base/rand.h"
#include "store/db.h"
#include "store/messages.h"
#include "store/mls_state.h"
#include "store/outbox.h"
#include "store/profiles.h"
#include "store/spaces.h"

CHECK_MAIN_DEFS

static char tmpdir[64];

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static store_db *open_fresh(const char *name)
{
    char path[256], err[256];
    path_in_tmp(path, sizeof path, name);
    store_db *db = NULL;
    sp_err e = store_open(path, &db, err, sizeof err);
    CHECK_MSG(e == SP_OK, "open %s: %s", path, err);
    return db;
}

static void hexid(char out[65], int n)
{
    snprintf(out, 65, "%064x", n);
}

static void test_profiles(store_db *db)
{
    store_profile p = {0};
    CHECK(sp_uuid_v4(p.user_id) == SP_OK);
    p.username = "alice";
    uint8_t hash[32] = {1, 2, 3}, salt[16] = {9};
    p.pw_hash = hash;
    p.pw_hash_len = sizeof hash;
    p.pw_salt = salt;
    p.pw_salt_len = sizeof salt;
    p.kdf_m_kib = 19456;
    p.kdf_t = 2;
    p.kdf_p = 1;
    p.created_at = 1000;
    CHECK(store_profile_create(db, &p) == SP_OK);
    /* same username, new id → EXISTS */
    store_profile q = p;
    CHECK(sp_uuid_v4(q.user_id) == SP_OK);
    CHECK(store_profile_create(db, &q) == SP_ERR_EXISTS);
    q.username = "bob";
    q.created_at = 2000;
    CHECK(store_profile_create(db, &q) == SP_OK);
    int64_t n = 0;
    CHECK(store_profile_count(db, &n) == SP_OK && n == 2);

    store_profile got;
    CHECK(store_profile_by_name(db, "alice", &got) == SP_OK);
    CHECK(strcmp(got.user_id, p.user_id) == 0);
    CHECK(got.pw_hash_len == 32 && memcmp(got.pw_hash, hash, 32) == 0);
    CHECK(got.pw_salt_len == 16 && got.pw_salt[0] == 9);
    CHECK(got.kdf_m_kib == 19456 && got.kdf_t == 2 && got.kdf_p == 1 && got.created_at == 1000);
    store_profile_clear(&got);
    CHECK(store_profile_by_id(db, q.user_id, &got) == SP_OK && strcmp(got.username, "bob") == 0);
    store_profile_clear(&got);
    CHECK(store_profile_by_name(db, "carol", &got) == SP_ERR_NOT_FOUND);
    CHECK(store_profile_default(db, &got) == SP_OK && strcmp(got.username, "alice") == 0);
    store_profile_clear(&got);

    uint8_t pub[32] = {7}, sec[64] = {8};
    uint8_t *gp = NULL, *gs = NULL;
    size_t gpl = 0, gsl = 0;
    CHECK(store_user_key_get(db, p.user_id, &gp, &gpl, &gs, &gsl) == SP_ERR_NOT_FOUND);
    CHECK(store_user_key_put(db, p.user_id, pub, 32, sec, 64) == SP_OK);
    CHECK(store_user_key_get(db, p.user_id, &gp, &gpl, &gs, &gsl) == SP_OK);
    CHECK(gpl == 32 && gsl == 64 && gp[0] == 7 && gs[0] == 8);
    free(gp);
    free(gs);
    /* a key for a user that is not a local profile violates the foreign key */
    CHECK(store_user_key_put(db, "00000000-0000-4000-8000-000000000000", pub, 32, sec, 64) ==
          SP_ERR_NOT_FOUND);
}

static void test_spaces(store_db *db)
{
    store_space s = {0};
    hexid(s.id, 1);
    s.name = "Space one";
    s.description = "d";
    s.visibility = 2;
    s.owner_id = "owner";
    s.created_at = 5;
    CHECK(store_space_create(db, &s) == SP_OK);
    CHECK(store_space_create(db, &s) == SP_ERR_EXISTS);
    CHECK(store_space_ensure(db, &s) == SP_OK);
    int m = -1;
    CHECK(store_space_is_member(db, s.id, "owner", &m) == SP_OK && m == 1);
    CHECK(store_space_is_member(db, s.id, "other", &m) == SP_OK && m == 0);
    char nope[65];
    hexid(nope, 99);
    CHECK(store_space_is_member(db, nope, "owner", &m) == SP_ERR_NOT_FOUND);

    store_channel c = {0};
    hexid(c.id, 100);
    memcpy(c.space_id, s.id, 65);
    c.name = "general";
    c.visibility = 2;
    c.created_at = 6;
    CHECK(store_channel_create(db, &c, "owner") == SP_OK);
    CHECK(store_channel_create(db, &c, "owner") == SP_ERR_EXISTS);
    store_channel pub = c;
    hexid(pub.id, 101);
    pub.name = "public";
    pub.visibility = 1;
    pub.created_at = 7;
    CHECK(store_channel_create(db, &pub, "owner") == SP_OK);
    /* a channel in a space that does not exist */
    store_channel orphan = c;
    hexid(orphan.id, 102);
    memcpy(orphan.space_id, nope, 65);
    CHECK(store_channel_create(db, &orphan, "owner") == SP_ERR_NOT_FOUND);
    CHECK(store_channel_is_member(db, orphan.id, "owner", &m) == SP_ERR_NOT_FOUND);

    store_space got;
    CHECK(store_space_get(db, s.id, "owner", &got) == SP_OK);
    CHECK(strcmp(got.name, "Space one") == 0 && got.visibility == 2 && got.created_at == 5);
    CHECK(got.n_members == 1 && strcmp(got.member_ids[0], "owner") == 0);
    CHECK(got.n_channels == 2 && strcmp(got.channel_ids[0], c.id) == 0);
    store_space_clear(&got);
    /* another user sees only the public channel */
    CHECK(store_space_add_member(db, s.id, "other") == SP_OK);
    CHECK(store_space_add_member(db, s.id, "other") == SP_OK); /* idempotent */
    CHECK(store_space_get(db, s.id, "other", &got) == SP_OK);
    CHECK(got.n_members == 2 && got.n_channels == 1 && strcmp(got.channel_ids[0], pub.id) == 0);
    store_space_clear(&got);
    CHECK(store_space_get(db, nope, NULL, &got) == SP_ERR_NOT_FOUND);

    store_channel *v = NULL;
    size_t n = 0;
    CHECK(store_channel_list(db, s.id, "owner", &v, &n) == SP_OK && n == 2);
    CHECK(n == 2 && strcmp(v[1].name, "public") == 0 && v[0].n_members == 1);
    store_channels_free(v, n);
    CHECK(store_channel_list(db, s.id, "other", &v, &n) == SP_OK && n == 1);
    store_channels_free(v, n);
    CHECK(store_channel_add_member(db, c.id, "other") == SP_OK);
    CHECK(store_channel_is_member(db, c.id, "other", &m) == SP_OK && m == 1);
    CHECK(store_channel_list(db, s.id, "other", &v, &n) == SP_OK && n == 2);
    store_channels_free(v, n);
    CHECK(store_channel_remove_member(db, c.id, "other") == SP_OK);
    CHECK(store_channel_remove_member(db, c.id, "other") == SP_ERR_NOT_FOUND);
    CHECK(store_channel_is_member(db, c.id, "other", &m) == SP_OK && m == 0);
    CHECK(store_channel_set_home(db, c.id, "peerA") == SP_OK);
    store_channel gc;
    CHECK(store_channel_get(db, c.id, &gc) == SP_OK && gc.home_peer_id &&
          strcmp(gc.home_peer_id, "peerA") == 0 && strcmp(gc.space_id, s.id) == 0);
    store_channel_clear(&gc);

    store_space *sv = NULL;
    CHECK(store_space_list_for_user(db, "owner", &sv, &n) == SP_OK && n == 1);
    store_spaces_free(sv, n);
    CHECK(store_space_list_for_user(db, "stranger", &sv, &n) == SP_OK && n == 0);
    store_spaces_free(sv, n);
}

static void test_messages(store_db *db)
{
    char chan[65];
    hexid(chan, 100);
    store_message m = {0};
    memcpy(m.channel_id, chan, 65);
    m.sender_id = "owner";
    char ids[30][37];
    for (int i = 0; i < 30; i++) {
        CHECK(sp_uuid_v4(ids[i]) == SP_OK);
        memcpy(m.id, ids[i], 37);
        char content[32];
        snprintf(content, sizeof content, "msg %d", i);
        m.content = content;
        m.timestamp = 1000 + i;
        m.origin_peer = i % 2 ? "peerB" : NULL;
        m.origin_seq = (uint64_t)i;
        CHECK(store_message_put(db, &m) == SP_OK);
        CHECK(m.seq == i + 1);
    }
    /* duplicate id: refused, nothing changes */
    memcpy(m.id, ids[3], 37);
    m.content = "dup";
    CHECK(store_message_put(db, &m) == SP_ERR_EXISTS);
    int64_t last = 0;
    CHECK(store_messages_last_seq(db, chan, &last) == SP_OK && last == 30);
    /* unknown channel */
    store_message bad = m;
    CHECK(sp_uuid_v4(bad.id) == SP_OK);
    hexid(bad.channel_id, 12345);
    CHECK(store_message_put(db, &bad) == SP_ERR_NOT_FOUND);

    store_message *v = NULL;
    size_t n = 0;
    CHECK(store_messages_before(db, chan, NULL, 10, &v, &n) == SP_OK && n == 10);
    CHECK(n == 10 && v[0].seq == 21 && v[9].seq == 30 && strcmp(v[9].content, "msg 29") == 0);
    CHECK(n == 10 && v[9].origin_peer && strcmp(v[9].origin_peer, "peerB") == 0 && v[9].origin_seq == 29);
    CHECK(n == 10 && v[8].origin_peer == NULL);
    store_messages_free(v, n);
    CHECK(store_messages_before(db, chan, ids[5], 50, &v, &n) == SP_OK && n == 5);
    CHECK(n == 5 && v[0].seq == 1 && v[4].seq == 5 && strcmp(v[4].id, ids[4]) == 0);
    store_messages_free(v, n);
    char unknown[37];
    CHECK(sp_uuid_v4(unknown) == SP_OK);
    CHECK(store_messages_before(db, chan, unknown, 50, &v, &n) == SP_ERR_NOT_FOUND);
    CHECK(store_messages_before(db, chan, NULL, 0, &v, &n) == SP_ERR_INVALID);
    CHECK(store_messages_after(db, chan, 28, 10, &v, &n) == SP_OK && n == 2 && v[0].seq == 29);
    store_messages_free(v, n);
    store_message one;
    CHECK(store_message_get(db, ids[7], &one) == SP_OK && strcmp(one.content, "msg 7") == 0);
    store_message_clear(&one);
    CHECK(store_message_get(db, unknown, &one) == SP_ERR_NOT_FOUND);

    /* batch: duplicates skipped */
    store_message batch[3];
    memset(batch, 0, sizeof batch);
    for (int i = 0; i < 3; i++) {
        memcpy(batch[i].channel_id, chan, 65);
        batch[i].sender_id = "x";
        batch[i].content = "b";
        CHECK(sp_uuid_v4(batch[i].id) == SP_OK);
    }
    memcpy(batch[1].id, ids[0], 37);
    size_t stored = 0;
    CHECK(store_message_put_batch(db, batch, 3, &stored) == SP_OK && stored == 2);
    CHECK(batch[2].seq == 32);
}

static void test_mls(store_db *db)
{
    char chan[65];
    hexid(chan, 100);
    uint8_t st1[100], st2[200];
    memset(st1, 1, sizeof st1);
    memset(st2, 2, sizeof st2);
    uint64_t ep = 0;
    uint8_t *b = NULL;
    size_t bl = 0;
    CHECK(store_mls_state_get(db, chan, "owner", &ep, &b, &bl) == SP_ERR_NOT_FOUND);
    CHECK(store_mls_state_put(db, chan, "owner", 0, st1, sizeof st1) == SP_OK);
    CHECK(store_mls_state_put(db, chan, "owner", 1, st2, sizeof st2) == SP_OK);
    CHECK(store_mls_state_get(db, chan, "owner", &ep, &b, &bl) == SP_OK);
    CHECK(ep == 1 && bl == 200 && b[199] == 2);
    free(b);
    char nochan[65];
    hexid(nochan, 4242);
    CHECK(store_mls_state_put(db, nochan, "owner", 0, st1, 1) == SP_ERR_NOT_FOUND);
    char **users = NULL;
    size_t n = 0;
    CHECK(store_mls_state_users(db, chan, &users, &n) == SP_OK && n == 1);
    store_strv_free(users, n);
    CHECK(store_mls_state_delete(db, chan, "owner") == SP_OK);
    CHECK(store_mls_state_delete(db, chan, "owner") == SP_ERR_NOT_FOUND);

    store_profile p;
    CHECK(store_profile_by_name(db, "alice", &p) == SP_OK);
    uint8_t ref[32] = {0xaa}, kp[300] = {1}, sec[64] = {2};
    CHECK(store_keypkg_put(db, ref, 32, p.user_id, kp, sizeof kp, sec, sizeof sec) == SP_OK);
    CHECK(store_keypkg_put(db, ref, 32, p.user_id, kp, sizeof kp, sec, sizeof sec) == SP_ERR_EXISTS);
    int64_t cnt = 0;
    CHECK(store_keypkg_count(db, p.user_id, &cnt) == SP_OK && cnt == 1);
    char owner[37];
    uint8_t *gk = NULL, *gs = NULL;
    size_t gkl = 0, gsl = 0;
    CHECK(store_keypkg_get(db, ref, 32, owner, &gk, &gkl, &gs, &gsl) == SP_OK);
    CHECK(strcmp(owner, p.user_id) == 0 && gkl == 300 && gsl == 64 && gs[0] == 2);
    free(gk);
    free(gs);
    CHECK(store_keypkg_delete(db, ref, 32) == SP_OK);
    CHECK(store_keypkg_get(db, ref, 32, owner, &gk, &gkl, &gs, &gsl) == SP_ERR_NOT_FOUND);
    store_profile_clear(&p);

    CHECK(store_kpdir_put(db, ref, 32, "remote-user", "peerB", kp, 10) == SP_OK);
    ref[1] = 1;
    CHECK(store_kpdir_put(db, ref, 32, "remote-user", "peerB", kp, 20) == SP_OK);
    char *peer = NULL;
    CHECK(store_kpdir_take(db, "remote-user", &peer, &gk, &gkl) == SP_OK && gkl == 10 &&
          strcmp(peer, "peerB") == 0);
    free(peer);
    free(gk);
    CHECK(store_kpdir_take(db, "remote-user", &peer, &gk, &gkl) == SP_OK && gkl == 20);
    free(peer);
    free(gk);
    CHECK(store_kpdir_take(db, "remote-user", &peer, &gk, &gkl) == SP_ERR_NOT_FOUND);

    char *uname = NULL;
    CHECK(store_known_user_put(db, "u1", "peerC", "carol") == SP_OK);
    CHECK(store_known_user_put(db, "u1", "peerD", "carol") == SP_OK);
    CHECK(store_known_user_get(db, "u1", &peer, &uname) == SP_OK && strcmp(peer, "peerD") == 0);
    free(peer);
    free(uname);
    CHECK(store_known_user_get(db, "u2", &peer, &uname) == SP_ERR_NOT_FOUND);
    CHECK(store_meta_put(db, "k", (const uint8_t *)"v", 1) == SP_OK);
    CHECK(store_meta_get(db, "k", &gk, &gkl) == SP_OK && gkl == 1 && gk[0] == 'v');
    free(gk);
}

static void test_outbox(store_db *db)
{
    store_frame *v = NULL;
    size_t n = 0;
    int64_t id1 = 0, id2 = 0, id3 = 0;
    CHECK(store_outbox_add(db, "B", "SELF", 1, 2, (const uint8_t *)"p", 1, &id1) == SP_OK);
    CHECK(store_outbox_add(db, NULL, "SELF", 2, 2, (const uint8_t *)"q", 1, &id2) == SP_OK);
    CHECK(store_outbox_add(db, "B", "SELF", 3, 2, (const uint8_t *)"r", 1, &id3) == SP_OK);
    CHECK(id1 < id2 && id2 < id3);
    CHECK(store_outbox_list(db, "B", 0, 10, &v, &n) == SP_OK && n == 2);
    CHECK(n == 2 && v[0].id == id1 && v[1].id == id3 && strcmp(v[0].dest_peer, "B") == 0);
    store_frames_free(v, n);
    CHECK(store_outbox_list(db, NULL, 0, 10, &v, &n) == SP_OK && n == 1 && v[0].dest_peer == NULL);
    store_frames_free(v, n);
    CHECK(store_outbox_remove(db, id1) == SP_OK);
    CHECK(store_outbox_remove(db, id1) == SP_ERR_NOT_FOUND);
    CHECK(store_outbox_list(db, "B", 0, 10, &v, &n) == SP_OK && n == 1);
    store_frames_free(v, n);
    CHECK(store_outbox_list(db, "B", id3, 10, &v, &n) == SP_OK && n == 0); /* nothing after */
    store_frames_free(v, n);
    CHECK(store_outbox_list(db, "B", 0, 0, &v, &n) == SP_ERR_INVALID && v == NULL && n == 0);
    CHECK(store_outbox_add(db, "B", NULL, 4, 2, (const uint8_t *)"s", 1, NULL) == SP_ERR_INVALID);

    /* prune: only the queue named, only entries older than the cutoff, at most max of them */
    for (int i = 0; i < 5; i++)
        CHECK(store_outbox_add(db, "P", "SELF", 10 + (uint64_t)i, 2, (const uint8_t *)"x", 1, NULL) == SP_OK);
    int removed = -1;
    CHECK(store_outbox_prune(db, "P", store_now_ms() - 60000, 10, &removed) == SP_OK && removed == 0);
    CHECK(store_outbox_prune(db, "P", store_now_ms() + 1000, 2, &removed) == SP_OK && removed == 2);
    CHECK(store_outbox_list(db, "P", 0, 10, &v, &n) == SP_OK && n == 3 && v[0].origin_seq == 12);
    store_frames_free(v, n);
    CHECK(store_outbox_prune(db, "P", store_now_ms() + 1000, 0, &removed) == SP_ERR_INVALID);
    CHECK(store_outbox_prune(db, "P", store_now_ms() + 1000, 10, &removed) == SP_OK && removed == 3);
    CHECK(store_outbox_list(db, "B", 0, 10, &v, &n) == SP_OK && n == 1); /* another queue: untouched */
    store_frames_free(v, n);
}

static void test_transactions(store_db *db)
{
    /* An outer transaction that fails leaves nothing of its inner operations. */
    CHECK(store_tx_begin(db) == SP_OK);
    CHECK(store_outbox_add(db, "T", "SELF", 1, 2, (const uint8_t *)"a", 1, NULL) == SP_OK);
    CHECK(store_outbox_remove(db, -1) == SP_ERR_NOT_FOUND); /* inner failure: savepoint only */
    CHECK(store_outbox_add(db, "T", "SELF", 2, 2, (const uint8_t *)"b", 1, NULL) == SP_OK);
    CHECK(store_tx_end(db, SP_ERR_INVALID) == SP_ERR_INVALID);
    store_frame *v = NULL;
    size_t n = 0;
    CHECK(store_outbox_list(db, "T", 0, 10, &v, &n) == SP_OK && n == 0);
    store_frames_free(v, n);
    /* and a successful one keeps both */
    CHECK(store_tx_begin(db) == SP_OK);
    CHECK(store_outbox_add(db, "T", "SELF", 1, 2, (const uint8_t *)"a", 1, NULL) == SP_OK);
    CHECK(store_outbox_add(db, "T", "SELF", 2, 2, (const uint8_t *)"b", 1, NULL) == SP_OK);
    CHECK(store_tx_end(db, SP_OK) == SP_OK);
    CHECK(store_outbox_list(db, "T", 0, 10, &v, &n) == SP_OK && n == 2);
    store_frames_free(v, n);
    CHECK(store_tx_end(db, SP_OK) == SP_ERR_STATE); /* no transaction open */
}

static void test_reopen(void)
{
    store_db *db = open_fresh("main.db");
    if (!db)
        return;
    store_profile p;
    CHECK(store_profile_by_name(db, "bob", &p) == SP_OK);
    store_profile_clear(&p);
    char chan[65];
    hexid(chan, 100);
    int64_t last = 0;
    CHECK(store_messages_last_seq(db, chan, &last) == SP_OK && last == 32);
    store_close(db);
}

/* Writes bytes to a file (replacing it). */
static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_refusals(void)
{
    char path[256], err[256];
    store_db *db = NULL;

    /* garbage: refused, and the file is left byte for byte */
    path_in_tmp(path, sizeof path, "garbage.db");
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    write_file(path, junk, sizeof junk);
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_INVALID && db == NULL);
    CHECK_MSG(strstr(err, "not a usable sqlite database") != NULL, "%s", err);
    CHECK(file_size(path) == (long)sizeof junk);
    FILE *f = fopen(path, "rb");
    char back[8192];
    CHECK(f && fread(back, 1, sizeof back, f) == sizeof back);
    if (f)
        fclose(f);
    CHECK(memcmp(back, junk, sizeof junk) == 0);

    /* a sqlite file with a damaged header page */
    path_in_tmp(path, sizeof path, "damaged.db");
    db = open_fresh("damaged.db");
    store_close(db);
    db = NULL;
    f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f) {
        fseek(f, 100, SEEK_SET); /* the first page's b-tree header */
        fwrite("\xff\xff\xff\xff\xff\xff\xff\xff", 1, 8, f);
        fclose(f);
    }
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_INVALID && db == NULL);
    CHECK_MSG(strstr(err, "refusing") != NULL, "%s", err);

    /* a sound header but a damaged page deep inside: caught by the check at open */
    path_in_tmp(path, sizeof path, "deep.db");
    db = open_fresh("deep.db");
    if (db) {
        uint8_t pad[200];
        memset(pad, 0x33, sizeof pad);
        for (int i = 0; i < 300; i++) {
            char dest[64];
            snprintf(dest, sizeof dest, "peer-%d-padding-padding-padding", i);
            store_outbox_add(db, dest, "some-origin-peer-id-to-fill-pages", (uint64_t)i, 1, pad, sizeof pad, NULL);
        }
        store_close(db);
        db = NULL;
    }
    sqlite3 *cq = NULL;
    CHECK(sqlite3_open(path, &cq) == SQLITE_OK);
    CHECK(sqlite3_exec(cq, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(cq);
    long size = file_size(path);
    CHECK(size > 8 * 4096);
    f = fopen(path, "r+b");
    if (f) {
        /* scribble over the middle of the file (b-tree pages of outbox and its index) */
        char noise[4096];
        memset(noise, 0x5a, sizeof noise);
        fseek(f, (size / 4096 / 2) * 4096, SEEK_SET);
        fwrite(noise, 1, sizeof noise, f);
        fseek(f, (size / 4096 / 2 + 1) * 4096 + 8, SEEK_SET);
        fwrite(noise, 1, 200, f);
        fclose(f);
    }
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_INVALID && db == NULL);
    CHECK_MSG(strstr(err, "refusing") != NULL, "%s", err);

    /* an empty file is a new database */
    path_in_tmp(path, sizeof path, "empty.db");
    write_file(path, "", 0);
    CHECK(store_open(path, &db, err, sizeof err) == SP_OK && db != NULL);
    store_close(db);
    db = NULL;

    /* newer schema */
    path_in_tmp(path, sizeof path, "newer.db");
    sqlite3 *sq = NULL;
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    CHECK(sqlite3_exec(sq, "PRAGMA application_id=1397771844; CREATE TABLE future(x);"
                           "PRAGMA user_version=99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(sq);
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_UNSUPPORTED && db == NULL);
    CHECK_MSG(strstr(err, "newer") != NULL, "%s", err);
    /* untouched: still version 99 and no tables of ours */
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(sq, "SELECT (SELECT user_version FROM pragma_user_version), "
                                 "(SELECT count(*) FROM sqlite_master)", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 99 &&
          sqlite3_column_int(st, 1) == 1);
    sqlite3_finalize(st);
    sqlite3_close(sq);

    /* someone else's database */
    path_in_tmp(path, sizeof path, "foreign.db");
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    CHECK(sqlite3_exec(sq, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(sq);
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_INVALID && db == NULL);
    CHECK(sqlite3_open(path, &sq) == SQLITE_OK);
    CHECK(sqlite3_exec(sq, "PRAGMA user_version=1", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(sq);
    CHECK(store_open(path, &db, err, sizeof err) == SP_ERR_INVALID && db == NULL);
    CHECK_MSG(strstr(err, "another application") != NULL, "%s", err);

    /* a directory that does not exist */
    CHECK(store_open("/nonexistent-dir-sp/x.db", &db, err, sizeof err) == SP_ERR_IO && db == NULL);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sp-test-store-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    store_db *db = open_fresh("main.db");
    if (db) {
        test_profiles(db);
        test_spaces(db);
        test_messages(db);
        test_mls(db);
        test_outbox(db);
        test_transactions(db);
        store_close(db);
    }
    test_reopen();
    test_refusals();
    tmpdir_remove(tmpdir);
    return check_done();
}
