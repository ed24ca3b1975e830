/* fuzz_key_package.c — KeyPackage; its kept raw bytes must be the input. */
#define FUZZ_EXTRA(v, data, size)                                                 \
    do {                                                                          \
        if ((v)->raw.len != (size) || memcmp((v)->raw.data, (data), (size)) != 0) \
            abort();                                                              \
    } while (0)
#include "fuzz_common.h"
FUZZ_DECODER(key_package)
