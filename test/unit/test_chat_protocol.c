/* test_chat_protocol.c — round trips and refusals of the chat layer's network payloads. */
#include <stdlib.h>
#include <string.h>
#include "chat/protocol.h"
#include "check.h"

CHECK_MAIN_DEFS

static const char CH[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char PEER[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
static const char USER[] = "0f8fad5b-d9cb-469f-a165-70867728950e";

static sp_slice S(const char *s)
{
    sp_slice x = {(const uint8_t *)s, strlen(s)};
    return x;
}

static int slice_is(sp_slice s, const char *t)
{
    return s.len == strlen(t) && memcmp(s.ptr, t, s.len) == 0;
}

/* Every strict prefix of a valid encoding must be refused, and so must one extra byte. */
static void check_truncations(const sp_buf *b, sp_err (*dec)(const uint8_t *, size_t, void *), void *m)
{
    int all_refused = 1;
    for (size_t i = 0; i < b->len; i++)
        if (dec(b->data, i, m) == SP_OK)
            all_refused = 0;
    CHECK(all_refused);
    uint8_t *longer = malloc(b->len + 1);
    memcpy(longer, b->data, b->len);
    longer[b->len] = 0;
    CHECK(dec(longer, b->len + 1, m) == SP_ERR_INVALID);
    longer[0] = CHAT_PROTO_VERSION + 1;
    CHECK(dec(longer, b->len, m) == SP_ERR_UNSUPPORTED);
    free(longer);
}

static sp_err dec_commit(const uint8_t *p, size_t n, void *m) { return chat_commit_decode(p, n, m); }
static sp_err dec_kp(const uint8_t *p, size_t n, void *m) { return chat_kp_decode(p, n, m); }
static sp_err dec_app(const uint8_t *p, size_t n, void *m) { return chat_app_decode(p, n, m); }
static sp_err dec_plain(const uint8_t *p, size_t n, void *m) { return chat_plain_decode(p, n, m); }
static sp_err dec_epoch(const uint8_t *p, size_t n, void *m) { return chat_epoch_decode(p, n, m); }
static sp_err dec_facts(const uint8_t *p, size_t n, void *m) { return chat_facts_decode(p, n, m); }
static sp_err dec_used(const uint8_t *p, size_t n, void *m) { return chat_kp_used_decode(p, n, m); }
static sp_err dec_reject(const uint8_t *p, size_t n, void *m) { return chat_reject_decode(p, n, m); }

static void test_commit(void)
{
    chat_commit_msg m = {0}, d;
    strcpy(m.channel_id, CH);
    m.epoch = 7;
    strcpy(m.proposer, PEER);
    m.request_id = 0x0102030405060708ull;
    m.commit = S("commit-bytes");
    m.auto_join = 1;
    strcpy(m.joiner, USER);
    m.welcome = S("welcome");
    m.ratchet_tree = S("tree");
    strcpy(m.space_id, PEER);
    m.space_name = S("space");
    m.channel_name = S("general");
    sp_buf b;
    sp_buf_init(&b);
    CHECK(chat_commit_encode(&m, &b) == SP_OK);
    CHECK(chat_commit_decode(b.data, b.len, &d) == SP_OK);
    CHECK(strcmp(d.channel_id, CH) == 0 && d.epoch == 7 && strcmp(d.proposer, PEER) == 0);
    CHECK(d.request_id == m.request_id && d.auto_join == 1 && strcmp(d.joiner, USER) == 0);
    CHECK(slice_is(d.commit, "commit-bytes") && slice_is(d.welcome, "welcome"));
    CHECK(slice_is(d.ratchet_tree, "tree") && slice_is(d.space_name, "space"));
    CHECK(slice_is(d.channel_name, "general") && strcmp(d.space_id, PEER) == 0);
    check_truncations(&b, dec_commit, &d);
    sp_buf_free(&b);

    /* auto_join without a welcome is refused at both ends */
    m.welcome.len = 0;
    sp_buf_init(&b);
    CHECK(chat_commit_encode(&m, &b) == SP_OK);
    CHECK(chat_commit_decode(b.data, b.len, &d) == SP_ERR_INVALID);
    sp_buf_free(&b);

    /* optional fields empty */
    m.auto_join = 0;
    m.joiner[0] = '\0';
    m.space_id[0] = '\0';
    sp_buf_init(&b);
    CHECK(chat_commit_encode(&m, &b) == SP_OK);
    CHECK(chat_commit_decode(b.data, b.len, &d) == SP_OK && d.joiner[0] == 0 && d.space_id[0] == 0);
    sp_buf_free(&b);

    /* malformed ids are refused by the encoder */
    strcpy(m.channel_id, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff");
    sp_buf_init(&b);
    CHECK(chat_commit_encode(&m, &b) == SP_ERR_INVALID);
    sp_buf_free(&b);
}

static void test_others(void)
{
    sp_buf b;
    chat_kp_msg k = {0}, kd;
    strcpy(k.user_id, USER);
    strcpy(k.peer_id, PEER);
    k.username = S("alice");
    k.key_package = S("kp");
    sp_buf_init(&b);
    CHECK(chat_kp_encode(&k, &b) == SP_OK);
    CHECK(chat_kp_decode(b.data, b.len, &kd) == SP_OK);
    CHECK(strcmp(kd.user_id, USER) == 0 && slice_is(kd.username, "alice") && slice_is(kd.key_package, "kp"));
    check_truncations(&b, dec_kp, &kd);
    sp_buf_free(&b);

    chat_app_msg a = {0}, ad;
    strcpy(a.channel_id, CH);
    a.epoch = 3;
    a.message = S("ciphertext");
    sp_buf_init(&b);
    CHECK(chat_app_encode(&a, &b) == SP_OK);
    CHECK(chat_app_decode(b.data, b.len, &ad) == SP_OK && ad.epoch == 3 && slice_is(ad.message, "ciphertext"));
    check_truncations(&b, dec_app, &ad);
    sp_buf_free(&b);

    chat_app_plain p = {0}, pd;
    strcpy(p.message_id, USER);
    p.timestamp = 1700000000123;
    p.content = S("hello, world");
    sp_buf_init(&b);
    CHECK(chat_plain_encode(&p, &b) == SP_OK);
    CHECK(chat_plain_decode(b.data, b.len, &pd) == SP_OK);
    CHECK(pd.timestamp == p.timestamp && slice_is(pd.content, "hello, world") && strcmp(pd.message_id, USER) == 0);
    check_truncations(&b, dec_plain, &pd);
    sp_buf_free(&b);
    /* a NUL inside the content is refused */
    p.content.len = 13;
    sp_buf_init(&b);
    CHECK(chat_plain_encode(&p, &b) == SP_OK);
    CHECK(chat_plain_decode(b.data, b.len, &pd) == SP_ERR_INVALID);
    sp_buf_free(&b);
    strcpy(p.message_id, "not-a-uuid");
    sp_buf_init(&b);
    CHECK(chat_plain_encode(&p, &b) == SP_ERR_INVALID);
    sp_buf_free(&b);

    chat_epoch_msg e = {0}, ed;
    strcpy(e.channel_id, CH);
    e.epoch = 9;
    e.authenticator = S("0123456789abcdef0123456789abcdef");
    sp_buf_init(&b);
    CHECK(chat_epoch_encode(&e, &b) == SP_OK);
    CHECK(chat_epoch_decode(b.data, b.len, &ed) == SP_OK && ed.epoch == 9 && ed.authenticator.len == 32);
    check_truncations(&b, dec_epoch, &ed);
    sp_buf_free(&b);

    chat_reject_msg r = {0}, rd;
    strcpy(r.channel_id, CH);
    r.epoch = 4;
    r.request_id = 77;
    r.current_epoch = 5;
    r.reason = S("epoch taken");
    sp_buf_init(&b);
    CHECK(chat_reject_encode(&r, &b) == SP_OK);
    CHECK(chat_reject_decode(b.data, b.len, &rd) == SP_OK && rd.current_epoch == 5 && rd.request_id == 77);
    check_truncations(&b, dec_reject, &rd);
    sp_buf_free(&b);

    chat_facts f = {0}, fd;
    strcpy(f.home_peer, PEER);
    strcpy(f.space_id, CH);
    f.space_name = S("Team");
    f.channel_name = S("general");
    sp_buf_init(&b);
    CHECK(chat_facts_encode(&f, &b) == SP_OK);
    CHECK(chat_facts_decode(b.data, b.len, &fd) == SP_OK && strcmp(fd.home_peer, PEER) == 0);
    CHECK(slice_is(fd.space_name, "Team") && slice_is(fd.channel_name, "general"));
    check_truncations(&b, dec_facts, &fd);
    sp_buf_free(&b);

    chat_kp_used_msg u = {0}, ud;
    strcpy(u.user_id, USER);
    memset(u.ref, 0xab, sizeof u.ref);
    sp_buf_init(&b);
    CHECK(chat_kp_used_encode(&u, &b) == SP_OK);
    CHECK(chat_kp_used_decode(b.data, b.len, &ud) == SP_OK && memcmp(ud.ref, u.ref, 32) == 0);
    check_truncations(&b, dec_used, &ud);
    sp_buf_free(&b);

    /* a huge declared length is refused before any read */
    uint8_t huge[] = {CHAT_PROTO_VERSION, 0xff, 0xff, 0xff, 0xff};
    CHECK(chat_app_decode(huge, sizeof huge, &ad) != SP_OK);
    CHECK(chat_app_decode(NULL, 0, &ad) != SP_OK);
}

int main(void)
{
    test_commit();
    test_others();
    return check_done();
}
