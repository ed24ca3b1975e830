/* rand.c — random bytes and UUIDs. */
#include "base/rand.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "base/hex.h"

sp_err sp_random(void *out, size_t n)
{
    if (n > (size_t)2147483647)
        return SP_ERR_INVALID;
    return RAND_bytes(out, (int)n) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

/* A child process must never repeat its parent's bytes, so the pools are refilled after a fork: an
 * atfork handler bumps a generation that each pool compares with its own (getpid() per draw would
 * do the same, but it is a system call, about 1 µs under a hypervisor). */
#define POOL_BYTES 1024

static unsigned long fork_gen = 1; /* only written in a child, single-threaded there */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_ok;

static void on_fork_child(void) { fork_gen++; }
static void atfork_init(void) { atfork_ok = pthread_atfork(NULL, NULL, on_fork_child) == 0; }

sp_err sp_random_small(void *out, size_t n)
{
    static __thread uint8_t pool[POOL_BYTES];
    static __thread size_t used = sizeof pool;
    static __thread unsigned long gen;
    static __thread pid_t owner;
    if (n > SP_RANDOM_SMALL_MAX)
        return SP_ERR_INVALID;
    pthread_once(&atfork_once, atfork_init);
    int forked = atfork_ok ? gen != fork_gen : owner != getpid(); /* without the handler: the pid */
    if (used + n > sizeof pool || forked) {
        sp_err e = sp_random(pool, sizeof pool);
        if (e)
            return e;
        used = 0;
        gen = fork_gen;
        owner = atfork_ok ? 0 : getpid();
    }
    memcpy(out, pool + used, n);
    OPENSSL_cleanse(pool + used, n);
    used += n;
    return SP_OK;
}

sp_err sp_uuid_v4(char out[37])
{
    uint8_t b[16];
    sp_err e = sp_random_small(b, sizeof b);
    if (e)
        return e;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char h[33];
    sp_hex_encode(b, 16, h);
    memcpy(out, h, 8);
    out[8] = '-';
    memcpy(out + 9, h + 8, 4);
    out[13] = '-';
    memcpy(out + 14, h + 12, 4);
    out[18] = '-';
    memcpy(out + 19, h + 16, 4);
    out[23] = '-';
    memcpy(out + 24, h + 20, 12);
    out[36] = '\0';
    return SP_OK;
}

int sp_uuid_is_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    if (s[14] != '4')
        return 0;
    return s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b';
}
