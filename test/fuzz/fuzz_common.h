/*
 * fuzz_common.h — one libFuzzer target per MLS decoder.
 *
 * FUZZ_DECODER(T) defines LLVMFuzzerTestOneInput: decode the input as mls_T;
 * when it decodes, encoding it again must give the input bytes exactly
 * (anything else aborts, which libFuzzer reports), and freeing it must be
 * clean (ASan). Decoding must never read past the input or crash.
 */
#ifndef SP_FUZZ_COMMON_H
#define SP_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"

#define FUZZ_DECODER(T)                                                       \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);             \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)              \
    {                                                                         \
        mls_##T v;                                                            \
        if (mls_##T##_decode(data, size, &v) != SP_OK)                        \
            return 0;                                                         \
        sp_buf b = SP_BUF_INIT;                                               \
        if (mls_##T##_write(&b, &v) != SP_OK || b.len != size ||              \
            memcmp(b.data, data, size) != 0)                                  \
            abort(); /* decode then encode must be the identity */            \
        FUZZ_EXTRA(&v, data, size);                                           \
        sp_buf_free(&b);                                                      \
        mls_##T##_free(&v);                                                   \
        mls_##T##_free(&v); /* freeing twice must be harmless */              \
        return 0;                                                             \
    }

#ifndef FUZZ_EXTRA
#define FUZZ_EXTRA(v, data, size) ((void)(v))
#endif

#endif
