/* hex.c — hex encoding. */
#include "base/hex.h"

#include <string.h>

void sp_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

sp_err sp_hex_decode(const char *s, size_t slen, uint8_t *out, size_t out_len)
{
    if (slen != 2 * out_len)
        return SP_ERR_INVALID;
    for (size_t i = 0; i < out_len; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return SP_ERR_INVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return SP_OK;
}

int sp_hex_is_lower(const char *s, size_t nbytes)
{
    if (!s || strlen(s) != 2 * nbytes)
        return 0;
    for (size_t i = 0; i < 2 * nbytes; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}
