/* test_net_codec.c — net/: frame codec, multiaddr parser, identity file, handshake transcript,
 * and the dedup/contiguity logic of both persistence implementations. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/rand.h"
#include "check.h"
#include "tmpdir.h"
#include <sqlite3.h>
#include "net/frame.h"
#include "net/handshake.h"
#include "net/identity.h"
#include "net/multiaddr.h"
#include "net/persist.h"

CHECK_MAIN_DEFS

static void test_frames(void)
{
    sp_buf b = SP_BUF_INIT;
    uint8_t type;
    sp_slice pl;
    size_t used;
    CHECK(net_frame_encode(&b, NET_T_HEARTBEAT, NULL, 0) == SP_OK);
    CHECK(net_frame_encode(&b, 0x7e, (const uint8_t *)"abc", 3) == SP_OK);
    CHECK(b.len == 5 + 8);
    CHECK(net_frame_decode(b.data, b.len, NET_FRAME_MAX, &type, &pl, &used) == SP_OK);
    CHECK(type == NET_T_HEARTBEAT && pl.len == 0 && used == 5);
    CHECK(net_frame_decode(b.data + 5, b.len - 5, NET_FRAME_MAX, &type, &pl, &used) == SP_OK);
    CHECK(type == 0x7e && pl.len == 3 && !memcmp(pl.ptr, "abc", 3) && used == 8);
    /* every strict prefix is "need more", never an error or a read past the end */
    for (size_t i = 0; i < 8; i++)
        CHECK(net_frame_decode(b.data + 5, i, NET_FRAME_MAX, &type, &pl, &used) == SP_ERR_AGAIN);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff}, zero[4] = {0, 0, 0, 0}, pre[4] = {0, 0, 1, 1};
    uint32_t fl;
    CHECK(net_frame_check_header(huge, NET_FRAME_MAX, &fl) == SP_ERR_TOO_LARGE);
    CHECK(net_frame_decode(huge, 4, NET_FRAME_MAX, &type, &pl, &used) == SP_ERR_TOO_LARGE);
    CHECK(net_frame_check_header(zero, NET_FRAME_MAX, &fl) == SP_ERR_INVALID);
    CHECK(net_frame_check_header(pre, NET_FRAME_MAX_PREAUTH, &fl) == SP_ERR_TOO_LARGE);
    CHECK(net_frame_check_header(pre, NET_FRAME_MAX, &fl) == SP_OK && fl == 257);
    uint8_t big[16];
    CHECK(net_frame_encode(&b, 1, big, (size_t)NET_FRAME_MAX) == SP_ERR_TOO_LARGE);
    sp_buf_free(&b);

    /* gossip body round trip, and truncations */
    net_gossip g = {{1}, 42, {0}, 7, {(const uint8_t *)"hello", 5}}, d;
    g.origin[31] = 9;
    CHECK(net_gossip_encode(&b, &g) == SP_OK && b.len == NET_GOSSIP_OVERHEAD + 5);
    CHECK(net_gossip_decode(sp_buf_slice(&b), &d) == SP_OK);
    CHECK(!memcmp(d.origin, g.origin, 32) && d.seq == 42 && d.ptype == 7 && net_gossip_is_broadcast(&d));
    CHECK(d.payload.len == 5 && !memcmp(d.payload.ptr, "hello", 5));
    for (size_t i = 0; i < NET_GOSSIP_OVERHEAD; i++) {
        sp_slice s = {b.data, i};
        CHECK(net_gossip_decode(s, &d) == SP_ERR_INVALID);
    }
    b.data[32 + 7] = 0; /* seq 0 is never valid */
    CHECK(net_gossip_decode(sp_buf_slice(&b), &d) == SP_ERR_INVALID);
    sp_buf_free(&b);

    /* HELLO: version first, unknown versions recognised */
    net_hello h = {NET_PROTOCOL_VERSION, {3}, {4}, 4001}, h2;
    CHECK(net_hello_encode(&b, &h) == SP_OK && b.len == 68);
    CHECK(net_hello_decode(sp_buf_slice(&b), &h2) == SP_OK && h2.listen_port == 4001 && h2.pubkey[0] == 3);
    b.data[1] = 2;
    CHECK(net_hello_decode(sp_buf_slice(&b), &h2) == SP_ERR_UNSUPPORTED && h2.version == 2);
    b.data[1] = 1;
    sp_slice shortp = {b.data, 67};
    CHECK(net_hello_decode(shortp, &h2) == SP_ERR_INVALID);
    sp_buf_put_u8(&b, 0);
    CHECK(net_hello_decode(sp_buf_slice(&b), &h2) == SP_ERR_INVALID);
    sp_buf_free(&b);

    /* HAVE: count must match the bytes */
    net_have_entry *he;
    size_t nh;
    sp_buf_put_u32(&b, 2);
    for (int i = 0; i < 2; i++) {
        uint8_t o[32] = {(uint8_t)i};
        sp_buf_append(&b, o, 32);
        sp_buf_put_u64(&b, 10 + i);
    }
    CHECK(net_have_decode(sp_buf_slice(&b), &he, &nh) == SP_OK && nh == 2 && he[1].contig == 11 && he[1].origin[0] == 1);
    free(he);
    b.data[3] = 200; /* claims more entries than present */
    CHECK(net_have_decode(sp_buf_slice(&b), &he, &nh) == SP_ERR_INVALID && he == NULL);
    b.data[0] = 0xff;
    CHECK(net_have_decode(sp_buf_slice(&b), &he, &nh) == SP_ERR_INVALID);
    sp_buf_free(&b);

    /* CLOSE: reasons sanitised for logs */
    uint16_t code;
    char reason[NET_CLOSE_REASON_MAX + 1];
    CHECK(net_close_encode(&b, NET_CLOSE_SELF, "no\nself") == SP_OK);
    sp_slice cp = {b.data + 5, b.len - 5};
    CHECK(net_close_decode(cp, &code, reason) == SP_OK && code == NET_CLOSE_SELF && !strcmp(reason, "no?self"));
    sp_buf_free(&b);
}

static void test_multiaddr(void)
{
    net_multiaddr ma;
    char err[200], out[NET_MULTIADDR_MAX];
    CHECK(net_multiaddr_parse("/ip4/127.0.0.1/tcp/4001", &ma, err, sizeof err) == SP_OK);
    CHECK(ma.port == 4001 && !ma.has_peer_id);
    net_multiaddr_format_addr((struct sockaddr *)&ma.sa, out);
    CHECK(!strcmp(out, "/ip4/127.0.0.1/tcp/4001"));
    CHECK(net_multiaddr_parse("/ip6/::1/tcp/65535", &ma, err, sizeof err) == SP_OK && ma.port == 65535);
    net_multiaddr_format_addr((struct sockaddr *)&ma.sa, out);
    CHECK(!strcmp(out, "/ip6/::1/tcp/65535"));
    char id[65];
    memset(id, 'a', 64);
    id[64] = 0;
    char s[300];
    snprintf(s, sizeof s, "/ip4/10.0.0.2/tcp/1/p2p/%s", id);
    CHECK(net_multiaddr_parse(s, &ma, err, sizeof err) == SP_OK && ma.has_peer_id && !strcmp(ma.peer_id, id));
    CHECK(ma.peer_key[0] == 0xaa);
    static const char *bad[] = {
        "", "ip4/1.2.3.4/tcp/1", "/ip4/1.2.3/tcp/1", "/ip4/1.2.3.4/udp/1", "/ip4/1.2.3.4/tcp/0",
        "/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/-1", "/ip4/1.2.3.4/tcp/12a", "/ip4/1.2.3.4/tcp/",
        "/ip4/1.2.3.4/tcp/1/", "/ip4/1.2.3.4/tcp/1/p2p/", "/ip4/1.2.3.4/tcp/1/p2p/abc",
        "/ip4/1.2.3.4/tcp/1/quic", "/dns4/example.com/tcp/1", "/ip6/1.2.3.4/tcp/1", "/ip4//tcp/1",
        "/ip4/999.2.3.4/tcp/1", "/ip4/1.2.3.4", NULL};
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        CHECK_MSG(net_multiaddr_parse(bad[i], &ma, err, sizeof err) == SP_ERR_INVALID && err[0], "%s", bad[i]);
    }
    snprintf(s, sizeof s, "/ip4/10.0.0.2/tcp/1/p2p/%s/x", id);
    CHECK(net_multiaddr_parse(s, &ma, err, sizeof err) == SP_ERR_INVALID);
    id[5] = 'A'; /* ids are lowercase */
    snprintf(s, sizeof s, "/ip4/10.0.0.2/tcp/1/p2p/%s", id);
    CHECK(net_multiaddr_parse(s, &ma, err, sizeof err) == SP_ERR_INVALID);
    CHECK(net_multiaddr_parse(NULL, &ma, NULL, 0) == SP_ERR_INVALID);
}

static void test_identity_and_handshake(void)
{
    char dir[] = "/tmp/sp-net-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    net_identity *a, *a2, *b;
    CHECK(net_identity_load_or_create(dir, &a) == SP_OK);
    char path[300];
    snprintf(path, sizeof path, "%s/p2p_identity.pem", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(net_identity_load_or_create(dir, &a2) == SP_OK);
    CHECK(!strcmp(net_identity_peer_id(a), net_identity_peer_id(a2))); /* stable across restarts */
    CHECK(strlen(net_identity_peer_id(a)) == 64);
    uint8_t k[32];
    CHECK(net_peer_id_parse(net_identity_peer_id(a), k) == SP_OK && !memcmp(k, net_identity_pubkey(a), 32));
    CHECK(net_identity_generate(&b) == SP_OK);

    net_hello ha = {NET_PROTOCOL_VERSION, {0}, {0}, 1000}, hb = {NET_PROTOCOL_VERSION, {0}, {0}, 0};
    memcpy(ha.pubkey, net_identity_pubkey(a), 32);
    memcpy(hb.pubkey, net_identity_pubkey(b), 32);
    sp_random(ha.nonce, 32);
    sp_random(hb.nonce, 32);
    uint8_t sa[64], sb[64];
    CHECK(net_handshake_sign(a, &ha, &hb, sa) == SP_OK);
    CHECK(net_handshake_sign(b, &hb, &ha, sb) == SP_OK);
    CHECK(net_handshake_verify(&ha, &hb, sa) == SP_OK); /* b checks a */
    CHECK(net_handshake_verify(&hb, &ha, sb) == SP_OK); /* a checks b */
    /* reflection: a's signature presented as b's */
    CHECK(net_handshake_verify(&hb, &ha, sa) == SP_ERR_CRYPTO);
    /* replay on a new link: the verifier's nonce changed */
    net_hello hb2 = hb;
    sp_random(hb2.nonce, 32);
    CHECK(net_handshake_verify(&ha, &hb2, sa) == SP_ERR_CRYPTO);
    /* any field of either hello is bound */
    net_hello ha2 = ha;
    ha2.listen_port = 1001;
    CHECK(net_handshake_verify(&ha2, &hb, sa) == SP_ERR_CRYPTO);
    sa[10] ^= 1;
    CHECK(net_handshake_verify(&ha, &hb, sa) == SP_ERR_CRYPTO);
    /* transcript layout is what docs/p2p-protocol.md says */
    sp_buf t = SP_BUF_INIT;
    CHECK(net_handshake_transcript(&t, &ha, &hb) == SP_OK && t.len == 22 + 68 + 68);
    CHECK(!memcmp(t.data, "spacepanda/p2p/1 auth\0", 22) && !memcmp(t.data + 22 + 2, ha.pubkey, 32));
    sp_buf_free(&t);

    /* a corrupt key file is an error, not a new identity */
    FILE *f = fopen(path, "w");
    fputs("garbage\n", f);
    fclose(f);
    net_identity *c = NULL;
    CHECK(net_identity_load_or_create(dir, &c) == SP_ERR_IO && c == NULL);
    unlink(path);
    rmdir(dir);
    net_identity_free(a);
    net_identity_free(a2);
    net_identity_free(b);
}

static int count_cb(void *arg, uint64_t seq, const uint8_t *body, size_t len)
{
    uint64_t *v = arg;
    (void)body;
    (void)len;
    v[v[0] + 1] = seq;
    v[0]++;
    return 0;
}

static void test_persist_one(net_persist *p, int durable_reopen_path)
{
    (void)durable_reopen_path;
    uint8_t o[32] = {7}, o2[32] = {8};
    int seen;
    uint64_t c, m;
    CHECK(p->frame_append(p->ctx, o, 1, (const uint8_t *)"a", 1) == SP_OK);
    CHECK(p->frame_append(p->ctx, o, 1, (const uint8_t *)"a", 1) == SP_ERR_EXISTS);
    CHECK(p->frame_append(p->ctx, o, 3, (const uint8_t *)"c", 1) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 1 && m == 3);
    CHECK(p->frame_seen(p->ctx, o, 2, &seen) == SP_OK && !seen);
    CHECK(p->frame_seen(p->ctx, o, 3, &seen) == SP_OK && seen);
    CHECK(p->frame_append(p->ctx, o, 2, (const uint8_t *)"b", 1) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 3 && m == 3); /* gap filled forward */
    CHECK(p->frame_append(p->ctx, o2, 5, (const uint8_t *)"x", 1) == SP_OK);
    CHECK(p->origin_state(p->ctx, o2, &c, &m) == SP_OK && c == 0 && m == 5);
    uint64_t got[10] = {0};
    CHECK(p->frames_after(p->ctx, o, 1, 10, count_cb, got) == SP_OK && got[0] == 2 && got[1] == 2 && got[2] == 3);
    memset(got, 0, sizeof got);
    CHECK(p->frames_after(p->ctx, o, 0, 1, count_cb, got) == SP_OK && got[0] == 1 && got[1] == 1);
    CHECK(p->peer_save(p->ctx, "/ip4/127.0.0.1/tcp/9", "", 0) == SP_OK);
    CHECK(p->flush(p->ctx) == SP_OK);
}

static void peer_count(void *arg, const char *addr, const char *id, int pinned)
{
    (void)id;
    (void)pinned;
    if (!strcmp(addr, "/ip4/127.0.0.1/tcp/9"))
        (*(int *)arg)++;
}

static void test_persist(void)
{
    net_persist *p;
    CHECK(net_persist_mem_new(&p) == SP_OK);
    test_persist_one(p, 0);
    net_persist_free(p);

    char dir[] = "/tmp/sp-net-db-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    test_persist_one(p, 1);
    net_persist_free(p);
    /* durable: a reopened database still knows every frame and the contiguity */
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    uint8_t o[32] = {7};
    int seen = 0, peers = 0;
    uint64_t c, m;
    CHECK(p->frame_seen(p->ctx, o, 2, &seen) == SP_OK && seen);
    CHECK(p->frame_append(p->ctx, o, 2, (const uint8_t *)"b", 1) == SP_ERR_EXISTS);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 3 && m == 3);
    CHECK(p->peer_list(p->ctx, peer_count, &peers) == SP_OK && peers == 1);
    net_persist_free(p);
    CHECK(tmpdir_remove(dir) == 0);
}


/* Sequences past NET_SEQ_MAX are malformed on the wire and refused by both logs. */
static void test_seq_limit(void)
{
    net_gossip g = {{3}, NET_SEQ_MAX, {0}, 1, {(const uint8_t *)"p", 1}}, d;
    sp_buf b = SP_BUF_INIT;
    CHECK(net_gossip_encode(&b, &g) == SP_OK);
    CHECK(net_gossip_decode((sp_slice){b.data, b.len}, &d) == SP_OK && d.seq == NET_SEQ_MAX);
    b.len = 0;
    g.seq = NET_SEQ_MAX + 1;
    CHECK(net_gossip_encode(&b, &g) == SP_OK);
    CHECK(net_gossip_decode((sp_slice){b.data, b.len}, &d) == SP_ERR_INVALID);
    sp_buf_free(&b);

    net_persist *p;
    uint8_t o[32] = {9};
    CHECK(net_persist_mem_new(&p) == SP_OK);
    CHECK(p->frame_append(p->ctx, o, NET_SEQ_MAX + 1, (const uint8_t *)"a", 1) == SP_ERR_INVALID);
    CHECK(p->frame_append(p->ctx, o, NET_SEQ_MAX, (const uint8_t *)"a", 1) == SP_OK);
    net_persist_free(p);
    char dir[] = "/tmp/sp-net-db-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    CHECK(p->frame_append(p->ctx, o, NET_SEQ_MAX + 1, (const uint8_t *)"a", 1) == SP_ERR_INVALID);
    CHECK(p->frame_append(p->ctx, o, 0, (const uint8_t *)"a", 1) == SP_ERR_INVALID);
    CHECK(p->frame_append(p->ctx, o, NET_SEQ_MAX, (const uint8_t *)"z", 1) == SP_OK);
    CHECK(p->sync(p->ctx) == SP_OK);
    uint64_t got[4] = {0}, c, m;
    CHECK(p->frames_after(p->ctx, o, NET_SEQ_MAX - 1, 4, count_cb, got) == SP_OK && got[0] == 1 &&
          got[1] == NET_SEQ_MAX);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 0 && m == NET_SEQ_MAX);
    net_persist_free(p);
    CHECK(tmpdir_remove(dir) == 0);
}

/* A process killed between commits: (contig, max) are written back only now and then, so the
 * reopened log must rebuild them from the frames themselves, gaps included. */
static void test_persist_crash(void)
{
    char dir[] = "/tmp/sp-net-db-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    uint8_t o[32] = {7}, o2[32] = {8};
    pid_t pid = fork();
    if (pid == 0) {
        net_persist *p;
        if (net_persist_sqlite_open(path, &p))
            _exit(1);
        uint8_t body[1100] = {1};
        for (uint64_t s = 1; s <= 300; s++) {
            if (p->frame_append(p->ctx, o, s, body, sizeof body))
                _exit(2);
            if (s % 3 == 0 && p->flush(p->ctx))
                _exit(3);
        }
        if (p->frame_append(p->ctx, o, 302, body, 10) || p->frame_append(p->ctx, o2, 2, body, 5) ||
            p->flush(p->ctx))
            _exit(4);
        p->frame_append(p->ctx, o, 303, body, 10); /* never committed */
        _exit(0); /* no destroy: as if killed */
    }
    int st = -1;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    net_persist *p;
    uint64_t c, m, got[8] = {0};
    int seen = 1;
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 300 && m == 302);
    CHECK(p->origin_state(p->ctx, o2, &c, &m) == SP_OK && c == 0 && m == 2);
    CHECK(p->frame_seen(p->ctx, o, 301, &seen) == SP_OK && !seen);
    CHECK(p->frame_seen(p->ctx, o, 303, &seen) == SP_OK && !seen);
    CHECK(p->frame_seen(p->ctx, o, 299, &seen) == SP_OK && seen);
    CHECK(p->frames_after(p->ctx, o, 299, 5, count_cb, got) == SP_OK && got[0] == 2 && got[1] == 300 &&
          got[2] == 302);
    CHECK(p->frame_append(p->ctx, o, 301, (const uint8_t *)"x", 1) == SP_OK && p->flush(p->ctx) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 302 && m == 302);
    net_persist_free(p);
    CHECK(tmpdir_remove(dir) == 0);
}

/* One large transaction through the walbuf VFS (more than the unix VFS writes per call) and
 * many small ones: everything reads back and the file passes sqlite's integrity check. */
static void test_persist_walbuf(void)
{
    char dir[] = "/tmp/sp-net-db-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    net_persist *p;
    uint8_t o[32] = {5}, body[1100];
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    int ok = 1;
    for (uint64_t s = 1; s <= 600; s++) {
        memset(body, (int)s, sizeof body);
        ok &= p->frame_append(p->ctx, o, s, body, sizeof body) == SP_OK;
        if (s > 500 && s % 2 == 0)
            ok &= p->flush(p->ctx) == SP_OK;
    }
    CHECK(ok && p->sync(p->ctx) == SP_OK);
    net_persist_free(p);
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok"));
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*), sum(length(body)) FROM net_log", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 600 &&
          sqlite3_column_int64(st, 1) == 600 * 1100);
    sqlite3_finalize(st);
    sqlite3_close(db);
    uint64_t c, m, got[4] = {0};
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 600 && m == 600);
    CHECK(p->frames_after(p->ctx, o, 249, 2, count_cb, got) == SP_OK && got[0] == 2 && got[1] == 250 && got[2] == 251);
    net_persist_free(p);
    CHECK(tmpdir_remove(dir) == 0);
}

/* A file in the first layout (net_frames with a UNIQUE(origin, seq) index) is moved over. */
static void test_persist_migrate(void)
{
    char dir[] = "/tmp/sp-net-db-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE net_peers(addr TEXT PRIMARY KEY, peer_id TEXT NOT NULL DEFAULT '',"
                       " pinned INTEGER NOT NULL DEFAULT 0);"
                       "CREATE TABLE net_frames(id INTEGER PRIMARY KEY, origin BLOB NOT NULL, seq INTEGER NOT NULL,"
                       " body BLOB NOT NULL, UNIQUE(origin, seq));"
                       "CREATE TABLE net_origins(origin BLOB PRIMARY KEY, contig INTEGER NOT NULL,"
                       " max INTEGER NOT NULL) WITHOUT ROWID;"
                       "INSERT INTO net_peers VALUES('/ip4/127.0.0.1/tcp/9', '', 0);"
                       "INSERT INTO net_frames(origin, seq, body) VALUES(zeroblob(32), 1, x'aa'), (zeroblob(32), 2, x'bb'),"
                       " (zeroblob(32), 4, x'dd');"
                       "INSERT INTO net_origins VALUES(zeroblob(32), 2, 4);",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    net_persist *p;
    uint8_t o[32] = {0};
    uint64_t c, m, got[8] = {0};
    int peers = 0;
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    CHECK(p->origin_state(p->ctx, o, &c, &m) == SP_OK && c == 2 && m == 4);
    CHECK(p->frames_after(p->ctx, o, 0, 8, count_cb, got) == SP_OK && got[0] == 3 && got[3] == 4);
    CHECK(p->frame_append(p->ctx, o, 2, (const uint8_t *)"b", 1) == SP_ERR_EXISTS);
    CHECK(p->peer_list(p->ctx, peer_count, &peers) == SP_OK && peers == 1);
    net_persist_free(p);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *s;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('net_frames', 'net_origins')", -1,
                             &s, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    CHECK(tmpdir_remove(dir) == 0);
}


/* Mutated and random inputs through every decoder: they must fail cleanly or succeed with
 * slices inside the input (ASan checks the rest in the SANITIZE build). */
static void test_decoders_mutated(void)
{
    sp_buf seeds[4] = {SP_BUF_INIT, SP_BUF_INIT, SP_BUF_INIT, SP_BUF_INIT};
    net_hello h = {NET_PROTOCOL_VERSION, {1}, {2}, 7};
    net_gossip g = {{3}, 9, {0}, 1, {(const uint8_t *)"payload", 7}};
    net_hello_encode(&seeds[0], &h);
    net_gossip_encode(&seeds[1], &g);
    sp_buf_put_u32(&seeds[2], 1);
    sp_buf_append(&seeds[2], g.origin, 32);
    sp_buf_put_u64(&seeds[2], 5);
    sp_buf_put_u16(&seeds[3], 4);
    sp_buf_append(&seeds[3], "dup", 3);
    uint8_t in[256];
    int clean = 1;
    for (int iter = 0; iter < 40000; iter++) {
        sp_buf *sd = &seeds[iter % 4];
        size_t n = sd->len;
        memcpy(in, sd->data, n);
        uint32_t r;
        sp_random(&r, sizeof r);
        switch (r % 4) {
        case 0: /* flip a few bytes */
            for (int k = 0; k < 1 + (int)(r >> 8) % 4; k++) {
                uint32_t x;
                sp_random(&x, sizeof x);
                in[x % n] ^= (uint8_t)(x >> 16 | 1);
            }
            break;
        case 1: /* truncate */
            n = (r >> 8) % (n + 1);
            break;
        case 2: /* extend with random bytes */
            sp_random(in + n, 16);
            n += (r >> 8) % 17;
            break;
        default: /* all random */
            n = (r >> 8) % sizeof in;
            sp_random(in, n);
        }
        uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees any overread */
        memcpy(copy, in, n);
        sp_slice sl = {copy, n};
        net_hello h2;
        net_gossip g2;
        net_have_entry *he = NULL;
        size_t nh = 0;
        uint16_t code;
        char reason[NET_CLOSE_REASON_MAX + 1];
        uint8_t type;
        sp_slice pl;
        size_t used;
        if (net_gossip_decode(sl, &g2) == SP_OK)
            clean &= g2.payload.ptr >= copy && g2.payload.ptr + g2.payload.len == copy + n && g2.seq != 0;
        if (net_hello_decode(sl, &h2) == SP_OK)
            clean &= n == 68;
        if (net_have_decode(sl, &he, &nh) == SP_OK)
            clean &= n == 4 + nh * 40;
        free(he);
        if (net_close_decode(sl, &code, reason) == SP_OK)
            clean &= strlen(reason) <= NET_CLOSE_REASON_MAX;
        if (net_frame_decode(copy, n, NET_FRAME_MAX_PREAUTH, &type, &pl, &used) == SP_OK)
            clean &= used <= n && pl.ptr + pl.len == copy + used;
        free(copy);
    }
    CHECK_MSG(clean, "a decoder accepted something inconsistent");
    for (int i = 0; i < 4; i++)
        sp_buf_free(&seeds[i]);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* net.db's log is checkpointed on a thread of its own (base/wal_checkpointer.h), never inside a
 * commit on the reactor: frames committed and then left alone reach the database file within a
 * couple of checkpoint periods, and the file is no longer held exclusively (the thread has its
 * own connection; so can a reader). */
static void test_persist_checkpoints(void)
{
    char dir[] = "/tmp/sp-net-ckpt-XXXXXX", path[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/net.db", dir);
    net_persist *p = NULL;
    CHECK(net_persist_sqlite_open(path, &p) == SP_OK);
    if (!p)
        return;
    uint8_t o[32] = {9}, body[1000];
    memset(body, 0x42, sizeof body);
    int ok = 1;
    for (uint64_t seq = 1; seq <= 600; seq++) {
        ok &= p->frame_append(p->ctx, o, seq, body, sizeof body) == SP_OK;
        if (seq % 50 == 0)
            ok &= p->flush(p->ctx) == SP_OK;
    }
    CHECK_MSG(ok, "600 frames logged");
    long before = file_size(path);
    int copied = 0;
    for (int i = 0; i < 300 && !copied; i++) {
        usleep(10000);
        copied = file_size(path) > 500000;
    }
    CHECK_MSG(copied, "the frames reach net.db without another commit (%ld bytes, %ld before)", file_size(path),
              before);
    sqlite3 *r = NULL;
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(r, "SELECT count(*) FROM net_log", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(r);
    CHECK_MSG(n == 600, "another connection reads the log while it is open (%ld rows)", n);
    net_persist_free(p);
    CHECK(tmpdir_remove(dir) == 0);
}

int main(void)
{
    test_frames();
    test_multiaddr();
    test_identity_and_handshake();
    test_persist();
    test_seq_limit();
    test_persist_crash();
    test_persist_migrate();
    test_persist_walbuf();
    test_persist_checkpoints();
    test_decoders_mutated();
    return check_done();
}
