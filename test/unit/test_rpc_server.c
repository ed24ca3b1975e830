/*
 * test_rpc_server.c — the rpc server's call life cycle, in one process: the
 * server runs on its own reactor thread with test methods registered, and the
 * project's client library (tools/client.c, compiled in) calls it over real
 * loopback TCP. Covers what services rely on: synchronous and deferred
 * answers, error statuses and their messages, orphaned calls answered after
 * the deadline, server streams, cancel callbacks on client cancel, and a slow
 * reader hitting the per-stream buffer bound.
 */
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "health.pb-c.h"
#include "rpc/rpc.h"

/* the client library lives with the CLI; compile it into this test */
#include "../../tools/client.c"

CHECK_MAIN_DEFS

#define STREAM_LIMIT (256 * 1024)

static struct event_base *g_base;
static rpc_server *g_srv;
static atomic_int g_cancelled, g_late_answered, g_flood_result, g_flood_sent;
static atomic_size_t g_flood_max_queued;

typedef struct {
    struct event ev;
    rpc_call *call;
    int kind;
} later;

enum { L_REPLY, L_ORPHAN, L_FLOOD };

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    later *l = arg;
    if (l->kind == L_FLOOD) {
        Grpc__Health__V1__HealthCheckRequest m = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        static char big[64 * 1024 + 1];
        memset(big, 'z', sizeof big - 1);
        m.service = big;
        sp_err e = rpc_call_send(l->call, &m.base);
        if (e == SP_OK) {
            size_t q = rpc_call_queued_bytes(l->call);
            if (q > g_flood_max_queued)
                g_flood_max_queued = q;
            g_flood_sent++;
            struct timeval tv = {0, 1000};
            evtimer_add(&l->ev, &tv);
            return;
        }
        g_flood_result = e;
        free(l);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    rpc_call_reply(l->call, &r.base);
    if (l->kind == L_ORPHAN)
        g_late_answered = 1;
    free(l);
}

static void defer(rpc_call *call, int kind, int ms)
{
    later *l = calloc(1, sizeof *l);
    l->call = call;
    l->kind = kind;
    evtimer_assign(&l->ev, g_base, later_cb, l);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(&l->ev, &tv);
}

static void on_cancel(rpc_call *call, void *user)
{
    (void)call;
    (void)user;
    g_cancelled++;
}

static void echo(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    (void)ctx;
    const char *what = ((const Grpc__Health__V1__HealthCheckRequest *)req_msg)->service;
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    if (strcmp(what, "ok") == 0) {
        r.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        rpc_call_reply(call, &r.base);
    } else if (strcmp(what, "later") == 0) {
        defer(call, L_REPLY, 50);
    } else if (strcmp(what, "slow") == 0) {
        defer(call, L_REPLY, 200);
    } else if (strcmp(what, "fail") == 0) {
        rpc_call_fail_err(call, SP_ERR_NOT_FOUND, "no such thing: caf\xc3\xa9 100%");
    } else if (strcmp(what, "err") == 0) {
        rpc_call_fail_err(call, SP_ERR_AUTH, NULL);
    } else if (strcmp(what, "never") == 0) {
        defer(call, L_ORPHAN, 400); /* answers long after the client's deadline */
    } else if (strcmp(what, "misuse") == 0) {
        CHECK(rpc_call_send(call, &r.base) == SP_ERR_STATE); /* a push on a unary call: it ends */
    } else if (strcmp(what, "cancelcb") == 0) {
        rpc_call_on_cancel(call, on_cancel, NULL); /* and never answers */
    } else {
        rpc_call_fail(call, RPC_INVALID_ARGUMENT, "unknown test command");
    }
}

static void stream(rpc_call *call, const ProtobufCMessage *req_msg, void *ctx)
{
    (void)ctx;
    const char *what = ((const Grpc__Health__V1__HealthCheckRequest *)req_msg)->service;
    if (strcmp(what, "three") == 0) {
        for (int i = 0; i < 3; i++) {
            Grpc__Health__V1__HealthCheckRequest m = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
            char s[16];
            snprintf(s, sizeof s, "m%d", i);
            m.service = s;
            CHECK(rpc_call_send(call, &m.base) == SP_OK);
        }
        rpc_call_finish(call, RPC_OK, NULL);
    } else if (strcmp(what, "hold") == 0) {
        rpc_call_on_cancel(call, on_cancel, NULL);
        Grpc__Health__V1__HealthCheckRequest m = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        m.service = "first";
        rpc_call_send(call, &m.base);
    } else if (strcmp(what, "flood") == 0) {
        defer(call, L_FLOOD, 1);
    } else {
        rpc_call_finish(call, RPC_FAILED_PRECONDITION, "stream says no");
    }
}

static void *reactor(void *arg)
{
    (void)arg;
    event_base_dispatch(g_base);
    return NULL;
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopbreak(g_base);
}

static void wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms / 10 && *v < want; i++)
        usleep(10000);
}

static spc_client *connect_to(uint16_t port)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    spc_client *c = NULL;
    spc_status st;
    CHECK(spc_connect(addr, 2000, &c, &st) == SP_OK);
    return c;
}

static int call_echo(spc_client *c, const char *what, int timeout_ms, spc_status *st, int *status_out)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)what;
    ProtobufCMessage *resp = NULL;
    int code = spc_unary(c, "/t.T/Echo", &req.base, &grpc__health__v1__health_check_response__descriptor,
                         timeout_ms, &resp, st);
    if (resp) {
        if (status_out)
            *status_out = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return code;
}

static void test_unary(spc_client *c)
{
    spc_status st;
    int s = -1;
    CHECK(call_echo(c, "ok", 2000, &st, &s) == RPC_OK && s == 1);
    s = -1;
    CHECK(call_echo(c, "later", 2000, &st, &s) == RPC_OK && s == 1);
    CHECK(call_echo(c, "fail", 2000, &st, NULL) == RPC_NOT_FOUND);
    CHECK_MSG(strcmp(st.message, "no such thing: caf\xc3\xa9 100%") == 0, "message %s", st.message);
    CHECK(call_echo(c, "err", 2000, &st, NULL) == RPC_UNAUTHENTICATED);
    CHECK(strcmp(st.message, sp_strerror(SP_ERR_AUTH)) == 0);
    CHECK(call_echo(c, "what", 2000, &st, NULL) == RPC_INVALID_ARGUMENT);
    CHECK(call_echo(c, "misuse", 2000, &st, NULL) == RPC_INTERNAL);

    /* a deadline the handler misses: DEADLINE_EXCEEDED now, the late answer frees the orphan */
    CHECK(call_echo(c, "never", 100, &st, NULL) == RPC_DEADLINE_EXCEEDED);
    CHECK_MSG(strstr(st.message, "deadline") != NULL, "message %s", st.message);
    wait_for(&g_late_answered, 1, 2000);
    CHECK(g_late_answered == 1);

    /* a deadline with a cancel callback: the callback runs */
    int before = g_cancelled;
    CHECK(call_echo(c, "cancelcb", 100, &st, NULL) == RPC_DEADLINE_EXCEEDED);
    wait_for(&g_cancelled, before + 1, 2000);
    CHECK(g_cancelled == before + 1);

    /* the connection still serves */
    CHECK(call_echo(c, "ok", 2000, &st, &s) == RPC_OK);
}

static void test_errors(spc_client *c)
{
    spc_status st;
    void *resp;
    size_t len;
    CHECK(spc_unary_raw(c, "/t.T/Nope", "", 0, 2000, &resp, &len, &st) == RPC_UNIMPLEMENTED);
    CHECK(strstr(st.message, "/t.T/Nope") != NULL);
    CHECK(spc_unary_raw(c, "/t.T/Echo", "\x0a\x05x", 3, 2000, &resp, &len, &st) == RPC_INVALID_ARGUMENT);
    /* 2000 bytes against the server's 1000-byte limit */
    char big[2000];
    memset(big, 0, sizeof big);
    big[0] = 0x0a;
    big[1] = (char)0xcd;
    big[2] = 0x0f;
    CHECK(spc_unary_raw(c, "/t.T/Echo", big, sizeof big, 2000, &resp, &len, &st) == RPC_RESOURCE_EXHAUSTED);
    CHECK(spc_unary_raw(c, "/t.T/Echo", "\x0a\x02ok", 4, 2000, &resp, &len, &st) == RPC_OK);
    CHECK(len == 2 && memcmp(resp, "\x08\x01", 2) == 0);
    free(resp);
    /* an expired deadline */
    int s;
    CHECK(call_echo(c, "later", 1, &st, &s) == RPC_DEADLINE_EXCEEDED);
}

static void test_streams(uint16_t port)
{
    spc_client *c = connect_to(port);
    spc_status st;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    spc_stream *s = NULL;
    ProtobufCMessage *m;

    req.service = "three";
    CHECK(spc_stream_open(c, "/t.T/Stream", &req.base, &grpc__health__v1__health_check_request__descriptor, 2000,
                          &s, &st) == SP_OK);
    int n = 0, r;
    while ((r = spc_stream_next(s, 2000, &m, &st)) == 1) {
        char want[16];
        snprintf(want, sizeof want, "m%d", n++);
        CHECK(strcmp(((Grpc__Health__V1__HealthCheckRequest *)m)->service, want) == 0);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    CHECK(r == 0 && n == 3 && st.code == RPC_OK);
    spc_stream_close(s);

    req.service = "no";
    CHECK(spc_stream_open(c, "/t.T/Stream", &req.base, &grpc__health__v1__health_check_request__descriptor, 2000,
                          &s, &st) == SP_OK);
    CHECK(spc_stream_next(s, 2000, &m, &st) == 0 && st.code == RPC_FAILED_PRECONDITION);
    CHECK(strcmp(st.message, "stream says no") == 0);
    spc_stream_close(s);

    /* client cancel: the server's cancel callback runs */
    int before = g_cancelled;
    req.service = "hold";
    CHECK(spc_stream_open(c, "/t.T/Stream", &req.base, &grpc__health__v1__health_check_request__descriptor, 0, &s,
                          &st) == SP_OK);
    CHECK(spc_stream_next(s, 2000, &m, &st) == 1);
    protobuf_c_message_free_unpacked(m, NULL);
    spc_stream_close(s);
    wait_for(&g_cancelled, before + 1, 2000);
    CHECK(g_cancelled == before + 1);

    /* disconnect with a stream open: same */
    s = NULL;
    CHECK(spc_stream_open(c, "/t.T/Stream", &req.base, &grpc__health__v1__health_check_request__descriptor, 0, &s,
                          &st) == SP_OK);
    CHECK(spc_stream_next(s, 2000, &m, &st) == 1);
    protobuf_c_message_free_unpacked(m, NULL);
    spc_close(c);
    spc_stream_close(s);
    wait_for(&g_cancelled, before + 2, 2000);
    CHECK(g_cancelled == before + 2);
}

static void test_slow_reader(uint16_t port)
{
    /* the client opens a flood stream and reads nothing */
    spc_client *c = connect_to(port);
    spc_status st;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = "flood";
    spc_stream *s = NULL;
    CHECK(spc_stream_open(c, "/t.T/Stream", &req.base, &grpc__health__v1__health_check_request__descriptor, 0, &s,
                          &st) == SP_OK);
    ProtobufCMessage *m;
    CHECK(spc_stream_next(s, 2000, &m, &st) == 1); /* it started */
    protobuf_c_message_free_unpacked(m, NULL);
    for (int i = 0; i < 500 && !g_flood_result; i++)
        usleep(10000);
    CHECK_MSG(g_flood_result == SP_ERR_TOO_LARGE, "flood ended with %d after %d sends", g_flood_result,
              g_flood_sent);
    CHECK_MSG(g_flood_max_queued <= STREAM_LIMIT, "queued %zu", (size_t)g_flood_max_queued);
    spc_stream_close(s);
    spc_close(c);
}

/* ---- per-connection budget of half-received requests ------------------------------------------ */

typedef struct {
    const uint8_t *data;
    size_t len, off, allowed;
} partial;

static ssize_t partial_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)sid;
    (void)user;
    partial *p = src->ptr;
    size_t n = p->allowed - p->off;
    if (n > length)
        n = length;
    memcpy(buf, p->data + p->off, n);
    p->off += n;
    if (p->off == p->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    else if (n == 0)
        return NGHTTP2_ERR_DEFERRED;
    return (ssize_t)n;
}

static rec *partial_call(spc_client *c, partial *p)
{
    rec *r = calloc(1, sizeof *r);
    rpc_deframer_init(&r->in, CLIENT_MAX_MSG);
    nghttp2_nv nv[] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":path", (uint8_t *)"/t.T/Echo", 5, 9, 0},
        {(uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0},
        {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
    };
    nghttp2_data_provider prd;
    prd.source.ptr = p;
    prd.read_callback = partial_read;
    r->sid = nghttp2_submit_request(c->h2, NULL, nv, 5, &prd, r);
    r->c = c;
    r->next = c->recs;
    if (c->recs)
        c->recs->prev = r;
    c->recs = r;
    return r;
}

static void test_conn_budget(uint16_t port)
{
    /* three requests of 900 bytes, each sent up to 600: the third crosses the 1500-byte budget */
    static uint8_t wire[905];
    rpc_frame_prefix(wire, 900);
    wire[5] = 0x0a;
    wire[6] = 0x81; /* varint 897 */
    wire[7] = 0x07;
    memset(wire + 8, 'a', 897);
    partial p[3];
    rec *r[3];
    spc_client *c = connect_to(port);
    for (int i = 0; i < 3; i++) {
        p[i] = (partial){wire, sizeof wire, 0, 605};
        r[i] = partial_call(c, &p[i]);
        int64_t until = now_ms() + 300;
        while (now_ms() < until && !r[i]->closed)
            pump(c, 20);
    }
    spc_status st;
    CHECK(!r[0]->closed && !r[1]->closed);
    CHECK(r[2]->closed);
    rec_status(r[2], c, &st);
    CHECK_MSG(st.code == RPC_RESOURCE_EXHAUSTED, "third stream: %d %s", st.code, st.message);
    /* the first two complete normally and reach the handler */
    for (int i = 0; i < 2; i++) {
        p[i].allowed = p[i].len;
        nghttp2_session_resume_data(c->h2, r[i]->sid);
    }
    for (int i = 0; i < 2; i++) {
        wait_rec(c, r[i], now_ms() + 2000, 0);
        rec_status(r[i], c, &st);
        CHECK_MSG(st.code == RPC_INVALID_ARGUMENT && strcmp(st.message, "unknown test command") == 0,
                  "stream %d: %d %s", i, st.code, st.message);
    }
    for (int i = 0; i < 3; i++)
        rec_free(r[i]);
    spc_close(c);
}

/* ---- graceful shutdown ---------------------------------------------------------------------- */

static atomic_int g_done, g_slow_code = -1, g_stuck_code = -1;
static uint16_t g_port;

static void shutdown_done(void *arg)
{
    (void)arg;
    g_done = 1;
}

static void start_shutdown(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    rpc_server_shutdown(g_srv, shutdown_done, NULL);
    rpc_server_shutdown(g_srv, shutdown_done, NULL); /* twice: no effect */
}

static void *slow_caller(void *arg)
{
    spc_client *c = connect_to(g_port);
    spc_status st;
    int code = call_echo(c, arg, 5000, &st, NULL);
    if (strcmp(arg, "slow") == 0)
        g_slow_code = code;
    else
        g_stuck_code = code;
    spc_close(c);
    return NULL;
}

static void test_shutdown(void)
{
    /* one call that answers within the grace period, one that never does (it has a cancel callback) */
    pthread_t a, b;
    int before = g_cancelled;
    pthread_create(&a, NULL, slow_caller, "slow");
    pthread_create(&b, NULL, slow_caller, "cancelcb");
    usleep(100000);
    struct event *ev = event_new(g_base, -1, 0, start_shutdown, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    event_active(ev, 0, 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    for (int i = 0; i < 300 && !g_done; i++)
        usleep(10000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_MSG(g_slow_code == RPC_OK, "in-flight call during shutdown: %d", g_slow_code);
    CHECK_MSG(g_stuck_code == RPC_UNAVAILABLE, "stuck call after the grace period: %d", g_stuck_code);
    CHECK(g_cancelled == before + 1);
    CHECK(g_done == 1);
    CHECK_MSG(secs < 2.0, "shutdown took %.2fs", secs);
    /* the listener is closed */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", g_port);
    spc_client *c = NULL;
    spc_status st;
    CHECK(spc_connect(addr, 1000, &c, &st) == SP_ERR_IO && st.code == RPC_UNAVAILABLE);
    event_free(ev);
}

int main(void)
{
    evthread_use_pthreads();
    g_base = event_base_new();
    rpc_config cfg = {.max_recv_bytes = 1000, .max_conn_buffer = 1500, .max_stream_buffer = STREAM_LIMIT,
                      .shutdown_grace_ms = 400};
    CHECK(rpc_server_new(g_base, &cfg, &g_srv) == SP_OK);
    CHECK(rpc_register_unary(g_srv, "/t.T/Echo", &grpc__health__v1__health_check_request__descriptor, echo, NULL) == SP_OK);
    CHECK(rpc_register_stream(g_srv, "/t.T/Stream", &grpc__health__v1__health_check_request__descriptor, stream,
                              NULL) == SP_OK);
    CHECK(rpc_register_unary(g_srv, "/t.T/Echo", &grpc__health__v1__health_check_request__descriptor, echo, NULL) ==
          SP_ERR_EXISTS);
    CHECK(rpc_register_unary(g_srv, "t.T/Echo", &grpc__health__v1__health_check_request__descriptor, echo, NULL) ==
          SP_ERR_INVALID);
    CHECK(rpc_register_unary(g_srv, "/t.T/", &grpc__health__v1__health_check_request__descriptor, echo, NULL) ==
          SP_ERR_INVALID);
    CHECK(rpc_server_has_service(g_srv, "t.T") && !rpc_server_has_service(g_srv, "t") &&
          !rpc_server_has_service(g_srv, "t.T/Echo"));
    CHECK(rpc_server_listen(g_srv, "not-an-address", 0) == SP_ERR_INVALID);
    CHECK(rpc_server_listen(g_srv, "127.0.0.1", 0) == SP_OK);
    uint16_t port = rpc_server_port(g_srv);
    CHECK(port != 0);
    pthread_t th;
    pthread_create(&th, NULL, reactor, NULL);

    spc_client *c = connect_to(port);
    test_unary(c);
    test_errors(c);
    spc_close(c);
    test_streams(port);
    test_slow_reader(port);
    test_conn_budget(port);
    g_port = port;
    test_shutdown();

    struct event *stop = event_new(g_base, -1, 0, stop_cb, NULL);
    event_active(stop, 0, 0);
    pthread_join(th, NULL);
    event_free(stop);
    rpc_server_free(g_srv);
    event_base_free(g_base);
    libevent_global_shutdown();
    return check_done();
}
