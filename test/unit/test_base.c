/* test_base.c — unit tests of base/: buffer, reader, hex, uuid, and mls/tls varints and vectors. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hex.h"
#include "base/rand.h"
#include "check.h"
#include "mls/tls.h"

CHECK_MAIN_DEFS

static void test_buf_and_reader(void)
{
    sp_buf b = SP_BUF_INIT;
    CHECK(sp_buf_put_u8(&b, 0x01) == SP_OK);
    CHECK(sp_buf_put_u16(&b, 0x0203) == SP_OK);
    CHECK(sp_buf_put_u32(&b, 0x04050607) == SP_OK);
    CHECK(sp_buf_put_u64(&b, 0x08090a0b0c0d0e0fULL) == SP_OK);
    CHECK(b.len == 15);
    sp_reader r;
    sp_reader_init(&r, b.data, b.len);
    uint8_t a; uint16_t c; uint32_t d; uint64_t e;
    CHECK(sp_read_u8(&r, &a) == SP_OK && a == 1);
    CHECK(sp_read_u16(&r, &c) == SP_OK && c == 0x0203);
    CHECK(sp_read_u32(&r, &d) == SP_OK && d == 0x04050607);
    CHECK(sp_read_u64(&r, &e) == SP_OK && e == 0x08090a0b0c0d0e0fULL);
    CHECK(sp_read_u8(&r, &a) == SP_ERR_TRUNCATED);
    /* a failed read does not move the cursor */
    sp_reader_init(&r, b.data, 3);
    CHECK(sp_read_u32(&r, &d) == SP_ERR_TRUNCATED && sp_reader_left(&r) == 3);
    sp_slice s;
    CHECK(sp_read_slice(&r, 4, &s) == SP_ERR_TRUNCATED);
    CHECK(sp_read_slice(&r, 3, &s) == SP_OK && s.len == 3 && sp_reader_left(&r) == 0);
    sp_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0);
    /* growth across many appends */
    for (int i = 0; i < 10000; i++)
        sp_buf_put_u8(&b, (uint8_t)i);
    CHECK(b.len == 10000 && !b.failed && b.data[9999] == (uint8_t)9999);
    sp_buf_free_secret(&b);
}

static void test_varint(void)
{
    static const struct { uint64_t v; const char *hex; } ok[] = {
        {0, "00"}, {63, "3f"}, {64, "4040"}, {16383, "7fff"}, {16384, "80004000"}, {0x3fffffff, "bfffffff"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        sp_buf b = SP_BUF_INIT;
        CHECK(mls_put_varint(&b, ok[i].v) == SP_OK);
        char h[16];
        sp_hex_encode(b.data, b.len, h);
        CHECK_MSG(strcmp(h, ok[i].hex) == 0, "varint %llu -> %s", (unsigned long long)ok[i].v, h);
        sp_reader r;
        sp_reader_init(&r, b.data, b.len);
        uint64_t v;
        CHECK(mls_read_varint(&r, &v) == SP_OK && v == ok[i].v && sp_reader_left(&r) == 0);
        sp_buf_free(&b);
    }
    sp_buf b = SP_BUF_INIT;
    CHECK(mls_put_varint(&b, 0x40000000) == SP_ERR_TOO_LARGE);
    sp_buf_free(&b);
    /* non-minimal, reserved prefix and truncated encodings are refused */
    static const char *bad[] = {"4000", "403f", "80000001", "80003fff", "c0000000", "40", "8000", ""};
    static const sp_err why[] = {SP_ERR_INVALID, SP_ERR_INVALID, SP_ERR_INVALID, SP_ERR_INVALID,
                                 SP_ERR_INVALID, SP_ERR_TRUNCATED, SP_ERR_TRUNCATED, SP_ERR_TRUNCATED};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t raw[8];
        size_t n = strlen(bad[i]) / 2;
        sp_hex_decode(bad[i], 2 * n, raw, n);
        sp_reader r;
        sp_reader_init(&r, raw, n);
        uint64_t v;
        CHECK_MSG(mls_read_varint(&r, &v) == why[i], "bad varint %s", bad[i]);
        CHECK(sp_reader_left(&r) == n);
    }
}

static void test_vectors(void)
{
    /* a nested vector whose body crosses the 1-byte and 2-byte prefix sizes */
    for (size_t len = 0; len < 20000; len += 997) {
        sp_buf b = SP_BUF_INIT;
        sp_buf_put_u8(&b, 0xaa);
        size_t at = mls_vec_begin(&b);
        for (size_t i = 0; i < len; i++)
            sp_buf_put_u8(&b, (uint8_t)i);
        CHECK(mls_vec_end(&b, at) == SP_OK);
        sp_reader r, body;
        sp_reader_init(&r, b.data + 1, b.len - 1);
        CHECK(mls_read_vec(&r, &body) == SP_OK && sp_reader_left(&body) == len && sp_reader_left(&r) == 0);
        if (len)
            CHECK(body.p[len - 1] == (uint8_t)(len - 1));
        sp_buf_free(&b);
    }
    /* a length larger than what is left is truncated, and the reader does not move */
    uint8_t over[] = {0x05, 1, 2};
    sp_reader r;
    sp_reader_init(&r, over, sizeof over);
    sp_slice s;
    CHECK(mls_read_opaque(&r, &s) == SP_ERR_TRUNCATED && sp_reader_left(&r) == 3);
    uint8_t huge[] = {0xbf, 0xff, 0xff, 0xff, 0};
    sp_reader_init(&r, huge, sizeof huge);
    CHECK(mls_read_opaque(&r, &s) == SP_ERR_TRUNCATED);
    uint8_t opt[] = {2};
    sp_reader_init(&r, opt, 1);
    int present;
    CHECK(mls_read_optional(&r, &present) == SP_ERR_INVALID);
}

static void test_hex_uuid(void)
{
    uint8_t raw[3];
    CHECK(sp_hex_decode("0aFf10", 6, raw, 3) == SP_OK && raw[0] == 0x0a && raw[1] == 0xff && raw[2] == 0x10);
    CHECK(sp_hex_decode("0g0000", 6, raw, 3) == SP_ERR_INVALID);
    CHECK(sp_hex_decode("0000", 4, raw, 3) == SP_ERR_INVALID);
    CHECK(sp_hex_is_lower("00ff", 2) && !sp_hex_is_lower("00FF", 2) && !sp_hex_is_lower("00f", 2));
    char u[37], v[37];
    CHECK(sp_uuid_v4(u) == SP_OK && sp_uuid_v4(v) == SP_OK);
    CHECK(sp_uuid_is_valid(u) && sp_uuid_is_valid(v) && strcmp(u, v) != 0);
    CHECK(!sp_uuid_is_valid("not-a-uuid"));
    CHECK(!sp_uuid_is_valid("123e4567-e89b-12d3-a456-426614174000")); /* version 1 */
}

/* The small-draw pool: distinct draws, a refusal over its limit, and a forked child that does not
 * repeat its parent's next bytes (the pool is per process, refilled after fork). */
static void test_random_small(void)
{
    uint8_t a[16], b[16], big[SP_RANDOM_SMALL_MAX + 1];
    CHECK(sp_random_small(a, sizeof a) == SP_OK && sp_random_small(b, sizeof b) == SP_OK);
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(sp_random_small(big, sizeof big) == SP_ERR_INVALID);
    for (int i = 0; i < 200; i++) /* across several refills */
        CHECK(sp_random_small(big, SP_RANDOM_SMALL_MAX) == SP_OK);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        uint8_t c[16] = {0};
        close(fds[0]);
        if (sp_random_small(c, sizeof c) == SP_OK && write(fds[1], c, sizeof c) != (ssize_t)sizeof c)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    uint8_t child[16];
    ssize_t got = read(fds[0], child, sizeof child);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(sp_random_small(a, sizeof a) == SP_OK);
    CHECK_MSG(got == (ssize_t)sizeof child && memcmp(child, a, sizeof a) != 0,
              "child read %zd bytes; parent and child drew the same bytes after fork", got);
}

int main(void)
{
    test_random_small();
    test_buf_and_reader();
    test_varint();
    test_vectors();
    test_hex_uuid();
    return check_done();
}
