/* rand.c — random bytes and UUIDs. */
#include "base/rand.h"

#include <string.h>
#include <openssl/rand.h>
#include "base/hex.h"

sp_err sp_random(void *out, size_t n)
{
    if (n > (size_t)2147483647)
        return SP_ERR_INVALID;
    return RAND_bytes(out, (int)n) == 1 ? SP_OK : SP_ERR_INTERNAL;
}

sp_err sp_uuid_v4(char out[37])
{
    uint8_t b[16];
    sp_err e = sp_random(b, sizeof b);
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
