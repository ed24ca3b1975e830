/* fuzz_join_welcome.c — mls_group_join on any bytes (or flips of a valid
 * Welcome), for carol's key package: must never crash or leak, and whatever
 * is accepted must be the group the real Welcome gives (a flip in another
 * joiner's entry does not concern carol; anything else must be refused). */
#include "fuzz_group_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fx_init();
    size_t n;
    uint8_t *w = fx_input(data, size, &FX.welcome, &n);
    if (!w)
        return 0;
    mls_group *g = NULL;
    sp_err e = mls_group_join(w, n, NULL, 0, FX.carol_priv.data, FX.carol_priv.len, NULL, 0,
                              &FX_RNG, &g);
    static uint8_t want[MLS_HASH_LEN];
    static int have_want;
    if (!have_want) {
        mls_group *r = NULL;
        if (mls_group_join(FX.welcome.data, FX.welcome.len, NULL, 0, FX.carol_priv.data,
                           FX.carol_priv.len, NULL, 0, &FX_RNG, &r))
            abort();
        mls_group_epoch_authenticator(r, want);
        mls_group_free(r);
        have_want = 1;
    }
    if (e == SP_OK) {
        uint8_t ea[MLS_HASH_LEN];
        mls_group_epoch_authenticator(g, ea);
        if (memcmp(ea, want, sizeof ea) != 0 || mls_group_own_leaf(g) != 2)
            abort();
        mls_group_free(g);
    } else if (g) {
        abort();
    }
    free(w);
    return 0;
}
