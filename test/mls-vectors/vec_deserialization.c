/* vec_deserialization.c — deserialization.json: varint length headers (RFC 9420 §2.1.2). */
#include <stdlib.h>
#include <string.h>

#include "mls/tls.h"
#include "vectors.h"

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        size_t n;
        uint8_t *hdr = json_gethex(c, "vlbytes_header", &n);
        uint64_t want = json_getu(c, "length");
        sp_reader r;
        sp_reader_init(&r, hdr, n);
        uint64_t got = 0;
        int ok = hdr && mls_read_varint(&r, &got) == SP_OK && got == want && sp_reader_left(&r) == 0;
        sp_buf b = SP_BUF_INIT;
        ok = ok && mls_put_varint(&b, want) == SP_OK && b.len == n && memcmp(b.data, hdr, n) == 0;
        sp_buf_free(&b);
        free(hdr);
        vec_case(st, i, ok, "varint decode/encode mismatch");
    }
}

MLS_VECTOR_CATEGORY("deserialization", run)
