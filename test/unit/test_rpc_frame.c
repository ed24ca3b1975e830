/* test_rpc_frame.c — gRPC framing, grpc-timeout, status mapping, percent-encoding. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rpc/frame.h"
#include "rpc/status.h"

CHECK_MAIN_DEFS

typedef struct {
    int n;
    size_t lens[8];
    uint8_t first[8];
} got;

static sp_err collect(void *user, sp_slice m)
{
    got *g = user;
    if (g->n < 8) {
        g->lens[g->n] = m.len;
        g->first[g->n] = m.len ? m.ptr[0] : 0;
    }
    g->n++;
    return SP_OK;
}

static void test_deframer(void)
{
    /* two messages (3 bytes, then empty) and a 300-byte one, fed whole and byte by byte */
    uint8_t wire[5 + 3 + 5 + 5 + 300];
    size_t n = 0;
    rpc_frame_prefix(wire, 3);
    n += 5;
    memcpy(wire + n, "\x0a\x01x", 3);
    n += 3;
    rpc_frame_prefix(wire + n, 0);
    n += 5;
    rpc_frame_prefix(wire + n, 300);
    n += 5;
    memset(wire + n, 0x42, 300);
    n += 300;
    CHECK(wire[0] == 0 && wire[4] == 3);

    static const size_t steps[] = {1, 7, sizeof wire};
    for (size_t si = 0; si < 3; si++) {
        size_t step = steps[si];
        rpc_deframer d;
        rpc_deframer_init(&d, 1000);
        got g = {0};
        for (size_t off = 0; off < n; off += step) {
            size_t take = off + step > n ? n - off : step;
            CHECK(rpc_deframer_feed(&d, wire + off, take, collect, &g) == SP_OK);
        }
        CHECK_MSG(g.n == 3, "step %zu: %d messages", step, g.n);
        CHECK(g.lens[0] == 3 && g.first[0] == 0x0a);
        CHECK(g.lens[1] == 0);
        CHECK(g.lens[2] == 300 && g.first[2] == 0x42);
        CHECK(d.done == 3 && !rpc_deframer_partial(&d));
        rpc_deframer_free(&d);
    }

    /* a partial message is reported as such */
    rpc_deframer d;
    rpc_deframer_init(&d, 1000);
    got g = {0};
    CHECK(rpc_deframer_feed(&d, wire, 6, collect, &g) == SP_OK);
    CHECK(g.n == 0 && rpc_deframer_partial(&d));
    rpc_deframer_free(&d);

    /* over the limit: refused at the prefix, nothing buffered, and latched */
    rpc_deframer_init(&d, 100);
    g.n = 0;
    CHECK(rpc_deframer_feed(&d, wire + 13, 5, collect, &g) == SP_ERR_TOO_LARGE);
    CHECK(d.body.cap == 0);
    CHECK(rpc_deframer_feed(&d, wire, 8, collect, &g) == SP_ERR_TOO_LARGE);
    CHECK(g.n == 0);
    rpc_deframer_free(&d);

    /* a declared 4 GiB - 1 is refused the same way */
    uint8_t huge[5] = {0, 0xff, 0xff, 0xff, 0xff};
    rpc_deframer_init(&d, 4u << 20);
    CHECK(rpc_deframer_feed(&d, huge, 5, collect, &g) == SP_ERR_TOO_LARGE);
    rpc_deframer_free(&d);

    /* compressed flag: unsupported; other flags: invalid */
    uint8_t comp[6] = {1, 0, 0, 0, 1, 0};
    rpc_deframer_init(&d, 100);
    CHECK(rpc_deframer_feed(&d, comp, 6, collect, &g) == SP_ERR_UNSUPPORTED);
    rpc_deframer_free(&d);
    comp[0] = 2;
    rpc_deframer_init(&d, 100);
    CHECK(rpc_deframer_feed(&d, comp, 6, collect, &g) == SP_ERR_INVALID);
    rpc_deframer_free(&d);
}

static sp_err refuse(void *user, sp_slice m)
{
    (void)user;
    (void)m;
    return SP_ERR_INVALID;
}

static void test_deframer_callback_error(void)
{
    uint8_t wire[5] = {0, 0, 0, 0, 0};
    rpc_deframer d;
    rpc_deframer_init(&d, 10);
    CHECK(rpc_deframer_feed(&d, wire, 5, refuse, NULL) == SP_ERR_INVALID);
    CHECK(rpc_deframer_feed(&d, wire, 5, collect, NULL) == SP_ERR_INVALID);
    rpc_deframer_free(&d);
}

static void test_timeout(void)
{
    uint64_t us;
    CHECK(rpc_parse_timeout("1S", 2, &us) == SP_OK && us == 1000000);
    CHECK(rpc_parse_timeout("250m", 4, &us) == SP_OK && us == 250000);
    CHECK(rpc_parse_timeout("7u", 2, &us) == SP_OK && us == 7);
    CHECK(rpc_parse_timeout("1500n", 5, &us) == SP_OK && us == 2);
    CHECK(rpc_parse_timeout("2M", 2, &us) == SP_OK && us == 120000000ull);
    CHECK(rpc_parse_timeout("99999999H", 9, &us) == SP_OK && us == 99999999ull * 3600000000ull);
    CHECK(rpc_parse_timeout("0m", 2, &us) == SP_OK && us == 0);
    CHECK(rpc_parse_timeout("100000000S", 10, &us) == SP_ERR_INVALID); /* 9 digits */
    CHECK(rpc_parse_timeout("S", 1, &us) == SP_ERR_INVALID);
    CHECK(rpc_parse_timeout("10x", 3, &us) == SP_ERR_INVALID);
    CHECK(rpc_parse_timeout("1 S", 3, &us) == SP_ERR_INVALID);
    CHECK(rpc_parse_timeout("-1S", 3, &us) == SP_ERR_INVALID);
    char buf[16];
    rpc_format_timeout(1500, buf);
    CHECK(strcmp(buf, "1500m") == 0);
    rpc_format_timeout(100000000ull, buf);
    CHECK(strcmp(buf, "100000S") == 0);
    CHECK(rpc_parse_timeout(buf, strlen(buf), &us) == SP_OK && us == 100000000000ull);
}

static void test_status(void)
{
    CHECK(rpc_status_from_err(SP_OK) == RPC_OK);
    CHECK(rpc_status_from_err(SP_ERR_INVALID) == RPC_INVALID_ARGUMENT);
    CHECK(rpc_status_from_err(SP_ERR_TRUNCATED) == RPC_INVALID_ARGUMENT);
    CHECK(rpc_status_from_err(SP_ERR_NOT_FOUND) == RPC_NOT_FOUND);
    CHECK(rpc_status_from_err(SP_ERR_EXISTS) == RPC_ALREADY_EXISTS);
    CHECK(rpc_status_from_err(SP_ERR_PERMISSION) == RPC_PERMISSION_DENIED);
    CHECK(rpc_status_from_err(SP_ERR_AUTH) == RPC_UNAUTHENTICATED);
    CHECK(rpc_status_from_err(SP_ERR_TOO_LARGE) == RPC_RESOURCE_EXHAUSTED);
    CHECK(rpc_status_from_err(SP_ERR_STATE) == RPC_FAILED_PRECONDITION);
    CHECK(rpc_status_from_err(SP_ERR_UNSUPPORTED) == RPC_UNIMPLEMENTED);
    CHECK(rpc_status_from_err(SP_ERR_TIMEOUT) == RPC_DEADLINE_EXCEEDED);
    CHECK(rpc_status_from_err(SP_ERR_CRYPTO) == RPC_INTERNAL);
    CHECK(rpc_status_from_err(SP_ERR_IO) == RPC_INTERNAL);
    CHECK(rpc_status_from_err(SP_ERR_NOMEM) == RPC_INTERNAL);
    CHECK(rpc_status_from_err((sp_err)-999) == RPC_INTERNAL);
    CHECK(strcmp(rpc_status_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED") == 0);
    CHECK(strcmp(rpc_status_name(99), "UNKNOWN") == 0);
    CHECK(rpc_status_parse("NOT_FOUND") == RPC_NOT_FOUND);
    CHECK(rpc_status_parse("nope") == -1);
}

static void test_percent(void)
{
    const char msg[] = "bad \"x\" 100% caf\xc3\xa9\n";
    sp_buf enc = SP_BUF_INIT, dec = SP_BUF_INIT;
    CHECK(rpc_percent_encode(&enc, msg, strlen(msg)) == SP_OK);
    const char want[] = "bad \"x\" 100%25 caf%C3%A9%0A";
    CHECK(enc.len == strlen(want) && memcmp(enc.data, want, enc.len) == 0);
    CHECK(rpc_percent_decode(&dec, (const char *)enc.data, enc.len) == SP_OK);
    CHECK(dec.len == strlen(msg) && memcmp(dec.data, msg, dec.len) == 0);
    /* malformed sequences are kept as they are */
    sp_buf_reset(&dec);
    CHECK(rpc_percent_decode(&dec, "50%zz %4", 8) == SP_OK);
    CHECK(dec.len == 8 && memcmp(dec.data, "50%zz %4", 8) == 0);
    sp_buf_free(&enc);
    sp_buf_free(&dec);
}

int main(void)
{
    test_deframer();
    test_deframer_callback_error();
    test_timeout();
    test_status();
    test_percent();
    return check_done();
}
