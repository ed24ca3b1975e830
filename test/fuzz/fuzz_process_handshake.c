/* fuzz_process_handshake.c — mls_group_stage on any bytes (or flips of a
 * valid commit): must never crash or leak, must leave the group unchanged,
 * and only an unmodified commit may succeed. */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx_init();
    size_t n;
    uint8_t *msg = fx_input(data, size, &FX.commit, &n);
    if (!msg)
        return 0;
    uint64_t epoch = mls_group_epoch(FX.bob);
    mls_group *next = NULL;
    mls_process_info info;
    sp_err e = mls_group_stage(FX.bob, msg, n, &next, &info);
    if (e == SP_OK) {
        int is_commit = n == FX.commit.len && memcmp(msg, FX.commit.data, n) == 0;
        /* a proposal could in principle be forged only with a key we do not
         * give out, and a changed commit must never pass */
        if (!is_commit || info.kind != MLS_GROUP_GOT_COMMIT || mls_group_epoch(next) != epoch + 1)
            abort();
        mls_group_free(next);
    } else if (next) {
        abort();
    }
    if (mls_group_epoch(FX.bob) != epoch)
        abort();
    sp_buf pt = SP_BUF_INIT;
    (void)mls_group_unprotect(FX.bob, msg, n, &pt, NULL, NULL);
    sp_buf_free_secret(&pt);
    mls_message_info mi;
    (void)mls_message_peek(msg, n, &mi);
    free(msg);
    return 0;
}
