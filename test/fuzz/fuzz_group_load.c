/* fuzz_group_load.c — mls_group_load on any bytes (or flips of a real saved
 * state): must never crash or leak; what loads must save again and be usable
 * (protect, and unprotect of its own garbage). */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sp_buf blob;
    fx_init();
    if (!blob.len && mls_group_save(FX.bob, &blob))
        abort();
    size_t n;
    uint8_t *p = fx_input(data, size, &blob, &n);
    if (!p)
        return 0;
    mls_group *g = NULL;
    if (mls_group_load(p, n, &FX_RNG, &g) == SP_OK) {
        sp_buf again = SP_BUF_INIT, msg = SP_BUF_INIT, pt = SP_BUF_INIT;
        if (mls_group_save(g, &again))
            abort();
        (void)mls_group_protect(g, (const uint8_t *)"x", 1, NULL, 0, &msg);
        (void)mls_group_unprotect(g, msg.data, msg.len, &pt, NULL, NULL);
        mls_member *m;
        size_t k;
        if (mls_group_members(g, &m, &k) == SP_OK)
            mls_members_free(m, k);
        sp_buf_free_secret(&again);
        sp_buf_free(&msg);
        sp_buf_free_secret(&pt);
        mls_group_free(g);
    } else if (g) {
        abort();
    }
    free(p);
    return 0;
}
