/*
 * chat_load — a C load generator for SendMessage and StreamMessages (issue 7's figures), so the
 * measurement costs little CPU next to the daemons it measures.
 *
 * It opens a StreamMessages call on the receiving daemon first, then drives SendMessage on the
 * sending daemon over a few HTTP/2 connections with many calls in flight, either paced at a fixed
 * offered rate or as fast as the in-flight window allows (rate 0). Each message's content carries
 * its sequence number, so every arrival on the stream gives one send->arrival latency. Everything
 * runs on one thread: poll() over all sockets, nghttp2 in memory mode.
 *
 *   chat_load --send HOST:PORT --token T --channel C --recv HOST:PORT --recv-token T2
 *             [--rate N (msgs/s, 0 = max)] [--count N] [--inflight N] [--conns N] [--tag S]
 *
 * Prints one human line and one "RESULT key=value ..." line (for bench/chat_bench.py).
 * Run by bench/chat.sh against daemons that script sets up; alone it only needs the arguments.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rpc/frame.h"
#include "spacepanda.pb-c.h"

#define MAX_CONNS 16

typedef struct conn {
    int fd;
    nghttp2_session *h2;
    sp_buf out;
    size_t out_off;
    int dead;
} conn;

typedef struct call {
    sp_buf req;
    size_t off;
    long seq;          /* -1: the stream */
    rpc_deframer in;
    int code, have_status;
} call;

static conn conns[MAX_CONNS + 1];
static int nconns = 2;
static long count = 2000, inflight_max = 64, rate = 1000;
static const char *tag = "L";
static int64_t *sent_ns, *acked_ns, *arrived_ns;
static long n_sent, n_acked, n_failed, n_arrived, n_dup, inflight;
static int stream_closed;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int dial(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host)
        return -1;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

static sp_err on_message(void *user, sp_slice m)
{
    call *k = user;
    if (k->seq >= 0)
        return SP_OK; /* a SendMessage response: only its status matters */
    Spacepanda__Message *msg = spacepanda__message__unpack(NULL, m.len, m.ptr);
    if (!msg)
        return SP_ERR_INVALID;
    int64_t t = now_ns();
    size_t tl = strlen(tag);
    if (msg->content && strncmp(msg->content, tag, tl) == 0 && msg->content[tl] == ':') {
        long seq = strtol(msg->content + tl + 1, NULL, 10);
        if (seq >= 0 && seq < count) {
            if (arrived_ns[seq])
                n_dup++;
            else {
                arrived_ns[seq] = t;
                n_arrived++;
            }
        }
    }
    spacepanda__message__free_unpacked(msg, NULL);
    return SP_OK;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    call *k = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (k && nl == 11 && memcmp(name, "grpc-status", 11) == 0) {
        k->code = 0;
        for (size_t i = 0; i < vl && i < 4; i++)
            k->code = k->code * 10 + (value[i] - '0');
        k->have_status = 1;
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t sid, const uint8_t *d, size_t len, void *user)
{
    (void)flags;
    (void)user;
    call *k = nghttp2_session_get_stream_user_data(s, sid);
    if (k)
        rpc_deframer_feed(&k->in, d, len, on_message, k);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t sid, uint32_t err, void *user)
{
    (void)err;
    (void)user;
    call *k = nghttp2_session_get_stream_user_data(s, sid);
    if (!k)
        return 0;
    if (k->seq < 0) {
        stream_closed = 1;
        if (k->have_status && k->code)
            fprintf(stderr, "chat_load: the stream ended with status %d\n", k->code);
    } else {
        inflight--;
        if (k->have_status && k->code == 0) {
            acked_ns[k->seq] = now_ns();
            n_acked++;
        } else {
            if (n_failed++ < 5)
                fprintf(stderr, "chat_load: SendMessage %ld failed (status %d)\n", k->seq,
                        k->have_status ? k->code : -1);
        }
    }
    nghttp2_session_set_stream_user_data(s, sid, NULL);
    rpc_deframer_free(&k->in);
    sp_buf_free(&k->req);
    free(k);
    return 0;
}

static ssize_t req_read(nghttp2_session *s, int32_t sid, uint8_t *buf, size_t length, uint32_t *flags,
                        nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)sid;
    (void)user;
    call *k = src->ptr;
    size_t n = k->req.len - k->off;
    if (n > length)
        n = length;
    memcpy(buf, k->req.data + k->off, n);
    k->off += n;
    if (k->off == k->req.len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int conn_open(conn *c, const char *hostport)
{
    c->fd = dial(hostport);
    if (c->fd < 0)
        return -1;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
    nghttp2_session_client_new(&c->h2, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry st[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24},
                                   {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000}};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, st, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 26);
    return 0;
}

static int submit(conn *c, const char *path, const ProtobufCMessage *req, long seq)
{
    call *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    k->seq = seq;
    rpc_deframer_init(&k->in, 1 << 20);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t pre[RPC_FRAME_PREFIX];
    rpc_frame_prefix(pre, (uint32_t)len);
    sp_buf_append(&k->req, pre, sizeof pre);
    uint8_t *body = malloc(len ? len : 1);
    protobuf_c_message_pack(req, body);
    sp_buf_append(&k->req, body, len);
    free(body);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv h[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":path", path),
                      NV(":authority", "bench"), NV("content-type", "application/grpc"), NV("te", "trailers")};
    nghttp2_data_provider dp = {.source.ptr = k, .read_callback = req_read};
    if (nghttp2_submit_request(c->h2, NULL, h, sizeof h / sizeof h[0], &dp, k) < 0) {
        sp_buf_free(&k->req);
        rpc_deframer_free(&k->in);
        free(k);
        return -1;
    }
    return 0;
}

/* One poll round over every connection, waiting at most timeout_us (microseconds, not rounded
 * down to milliseconds: a pacing loop must sleep until its next send, not spin). */
static void pump(int n, int64_t timeout_us)
{
    struct pollfd pfd[MAX_CONNS + 1];
    for (int i = 0; i < n; i++) {
        conn *c = &conns[i];
        for (;;) {
            const uint8_t *p;
            ssize_t w = c->dead ? 0 : nghttp2_session_mem_send(c->h2, &p);
            if (w <= 0)
                break;
            sp_buf_append(&c->out, p, (size_t)w);
        }
        pfd[i] = (struct pollfd){c->dead ? -1 : c->fd, POLLIN, 0};
        if (c->out.len > c->out_off)
            pfd[i].events |= POLLOUT;
    }
    struct timespec ts = {(time_t)(timeout_us / 1000000), (long)(timeout_us % 1000000) * 1000};
    if (ppoll(pfd, (nfds_t)n, &ts, NULL) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        conn *c = &conns[i];
        if (pfd[i].revents & POLLOUT) {
            ssize_t w = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
            if (w > 0)
                c->out_off += (size_t)w;
            if (c->out_off == c->out.len)
                c->out.len = c->out_off = 0;
        }
        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
            uint8_t buf[65536];
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) ||
                (r > 0 && nghttp2_session_mem_recv(c->h2, buf, (size_t)r) < 0)) {
                c->dead = 1;
                fprintf(stderr, "chat_load: connection %d closed\n", i);
            }
        }
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th per-mille of the n sorted values, in ms. */
static double permille(int64_t *v, long n, int p)
{
    if (n == 0)
        return -1;
    long i = n * p / 1000;
    return v[i < n ? i : n - 1] / 1e6;
}

static double pct(int64_t *v, long n, int p)
{
    return permille(v, n, p * 10);
}

int main(int argc, char **argv)
{
    const char *send_addr = NULL, *token = NULL, *channel = NULL, *recv_addr = NULL, *recv_token = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--send")) send_addr = v;
        else if (!strcmp(k, "--token")) token = v;
        else if (!strcmp(k, "--channel")) channel = v;
        else if (!strcmp(k, "--recv")) recv_addr = v;
        else if (!strcmp(k, "--recv-token")) recv_token = v;
        else if (!strcmp(k, "--rate")) rate = atol(v);
        else if (!strcmp(k, "--count")) count = atol(v);
        else if (!strcmp(k, "--inflight")) inflight_max = atol(v);
        else if (!strcmp(k, "--conns")) nconns = atoi(v);
        else if (!strcmp(k, "--tag")) tag = v;
        else { fprintf(stderr, "chat_load: unknown option %s\n", k); return 2; }
    }
    if (!send_addr || !token || !channel || !recv_addr || !recv_token || count <= 0 || nconns < 1 ||
        nconns > MAX_CONNS || inflight_max < 1) {
        fprintf(stderr, "usage: chat_load --send HOST:PORT --token T --channel C --recv HOST:PORT "
                        "--recv-token T [--rate N] [--count N] [--inflight N] [--conns N] [--tag S]\n"
                        "(run by bench/chat.sh, which starts and links the daemons)\n");
        return 0; /* make bench runs every bench program bare; this one needs daemons */
    }
    sent_ns = calloc((size_t)count, 8);
    acked_ns = calloc((size_t)count, 8);
    arrived_ns = calloc((size_t)count, 8);
    /* conns[0..nconns-1] send; conns[nconns] carries the stream */
    for (int i = 0; i < nconns; i++)
        if (conn_open(&conns[i], send_addr) != 0) {
            fprintf(stderr, "chat_load: cannot connect to %s\n", send_addr);
            return 1;
        }
    if (conn_open(&conns[nconns], recv_addr) != 0) {
        fprintf(stderr, "chat_load: cannot connect to %s\n", recv_addr);
        return 1;
    }
    int n = nconns + 1;
    Spacepanda__StreamMessagesRequest sreq = SPACEPANDA__STREAM_MESSAGES_REQUEST__INIT;
    sreq.session_token = (char *)recv_token;
    sreq.channel_id = (char *)channel;
    submit(&conns[nconns], "/spacepanda.MessageService/StreamMessages", &sreq.base, -1);
    /* the stream registers when its request arrives; give it a moment before the first send */
    int64_t settle = now_ns() + 300000000;
    while (now_ns() < settle)
        pump(n, 10000);

    char content[128];
    Spacepanda__SendMessageRequest req = SPACEPANDA__SEND_MESSAGE_REQUEST__INIT;
    req.session_token = (char *)token;
    req.channel_id = (char *)channel;
    req.content = content;
    int64_t t0 = now_ns(), deadline = 0;
    for (;;) {
        int64_t now = now_ns();
        while (n_sent < count && inflight < inflight_max) {
            int64_t due = rate > 0 ? t0 + (int64_t)(n_sent * (1e9 / (double)rate)) : now;
            if (due > now)
                break;
            snprintf(content, sizeof content, "%s:%ld", tag, n_sent);
            sent_ns[n_sent] = now_ns();
            if (submit(&conns[n_sent % nconns], "/spacepanda.MessageService/SendMessage", &req.base, n_sent) != 0)
                break;
            n_sent++;
            inflight++;
        }
        if (n_sent == count && inflight == 0 && !deadline)
            deadline = now_ns() + 30000000000LL; /* at most 30 s more for deliveries */
        if (n_arrived + n_failed >= count || stream_closed || (deadline && now_ns() > deadline))
            break;
        int dead = 0;
        for (int i = 0; i < n; i++)
            dead |= conns[i].dead;
        if (dead)
            break;
        int64_t wait_us = 100000;
        if (rate > 0 && n_sent < count && inflight < inflight_max) {
            int64_t due = t0 + (int64_t)(n_sent * (1e9 / (double)rate));
            int64_t left = due - now_ns();
            wait_us = left <= 0 ? 0 : left / 1000;
        }
        pump(n, wait_us);
    }
    int64_t last_ack = 0, last_arr = 0;
    int64_t *lat = calloc((size_t)count, 8), *ack = calloc((size_t)count, 8);
    long nl = 0, na = 0;
    for (long i = 0; i < count; i++) {
        if (acked_ns[i]) {
            ack[na++] = acked_ns[i] - sent_ns[i];
            if (acked_ns[i] > last_ack)
                last_ack = acked_ns[i];
        }
        if (arrived_ns[i]) {
            lat[nl++] = arrived_ns[i] - sent_ns[i];
            if (arrived_ns[i] > last_arr)
                last_arr = arrived_ns[i];
        }
    }
    if (getenv("CHAT_LOAD_DUMP")) {
        FILE *df = fopen(getenv("CHAT_LOAD_DUMP"), "w");
        for (long i = 0; df && i < count; i++)
            fprintf(df, "%ld %lld %lld %lld\n", i, (long long)sent_ns[i], (long long)(arrived_ns[i] ? arrived_ns[i] - sent_ns[i] : -1), (long long)(acked_ns[i] ? acked_ns[i] - sent_ns[i] : -1));
        if (df)
            fclose(df);
    }
    qsort(lat, (size_t)nl, 8, cmp64);
    qsort(ack, (size_t)na, 8, cmp64);
    double acc_s = last_ack ? (last_ack - t0) / 1e9 : 0, del_s = last_arr ? (last_arr - t0) / 1e9 : 0;
    printf("offered %s, %ld in flight max over %d connection(s): %ld sent, %ld accepted in %.2fs (%.0f msg/s), "
           "%ld on the stream in %.2fs (%.0f msg/s), %ld failed, %ld duplicates; "
           "SendMessage answer p50 %.2f ms p99 %.2f ms; send->stream p50 %.2f ms p99 %.2f ms\n",
           rate > 0 ? (snprintf(content, sizeof content, "%ld msg/s", rate), content) : "max", inflight_max,
           nconns, n_sent, n_acked, acc_s, acc_s > 0 ? n_acked / acc_s : 0, n_arrived, del_s,
           del_s > 0 ? n_arrived / del_s : 0, n_failed, n_dup, pct(ack, na, 50), pct(ack, na, 99),
           pct(lat, nl, 50), pct(lat, nl, 99));
    printf("RESULT sent=%ld accepted=%ld accept_s=%.4f delivered=%ld deliver_s=%.4f failed=%ld dup=%ld "
           "ack_p50=%.3f ack_p99=%.3f p50=%.3f p99=%.3f p999=%.3f max=%.3f\n",
           n_sent, n_acked, acc_s, n_arrived, del_s, n_failed, n_dup, pct(ack, na, 50), pct(ack, na, 99),
           pct(lat, nl, 50), pct(lat, nl, 99), permille(lat, nl, 999), pct(lat, nl, 100));
    for (int i = 0; i < n; i++) {
        nghttp2_session_del(conns[i].h2);
        sp_buf_free(&conns[i].out);
        close(conns[i].fd);
    }
    free(sent_ns);
    free(acked_ns);
    free(arrived_ns);
    free(lat);
    free(ack);
    return n_arrived == count && n_failed == 0 ? 0 : 1;
}
