/*
 * fuzz_group_fixture.h — a small real group for the group-level fuzz targets,
 * built once and deterministically: alice creates it and adds bob and carol
 * (bob joins); then alice makes a self-update commit. The targets feed
 * inputs either as whole messages, or — when the input starts with 0xFF — as
 * byte flips applied to the fixture's valid commit / Welcome, so that
 * mutations reach the deep checks (signatures, tags, tree validation)
 * instead of stopping at the first length field.
 */
#ifndef SP_FUZZ_GROUP_FIXTURE_H
#define SP_FUZZ_GROUP_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "mls/group.h"

static uint64_t fx_state;
static sp_err fx_rand(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        fx_state = fx_state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(fx_state >> 56);
    }
    return SP_OK;
}
static const mls_rand FX_RNG = {fx_rand, NULL};

typedef struct {
    mls_group *bob;         /* a member at the epoch of `commit` */
    sp_buf commit;          /* alice's self-update, for bob */
    sp_buf welcome;         /* the Welcome that added bob and carol */
    sp_buf carol_priv;      /* carol's key-package private blob */
} fx_group;

static fx_group FX;

static void fx_die(void) { abort(); }

static void fx_init(void)
{
    if (FX.bob)
        return;
    mls_group *alice, *next;
    sp_buf kb = SP_BUF_INIT, pb = SP_BUF_INIT, kc = SP_BUF_INIT;
    mls_commit_out o;
    if (mls_group_create((const uint8_t *)"fuzz", 4, (const uint8_t *)"alice", 5, NULL, NULL,
                         &FX_RNG, &alice) ||
        mls_key_package_make((const uint8_t *)"bob", 3, NULL, &FX_RNG, &kb, &pb) ||
        mls_key_package_make((const uint8_t *)"carol", 5, NULL, &FX_RNG, &kc, &FX.carol_priv))
        fx_die();
    sp_slice kps[2] = {sp_buf_slice(&kb), sp_buf_slice(&kc)};
    if (mls_group_add(alice, kps, 2, &o, &next))
        fx_die();
    mls_group_apply(alice, next);
    sp_buf_append(&FX.welcome, o.welcome.data, o.welcome.len);
    if (mls_group_join(o.welcome.data, o.welcome.len, NULL, 0, pb.data, pb.len, NULL, 0, &FX_RNG,
                       &FX.bob))
        fx_die();
    mls_commit_out_free(&o);
    if (mls_group_self_update(alice, &o, &next))
        fx_die();
    sp_buf_append(&FX.commit, o.commit.data, o.commit.len);
    mls_commit_out_free(&o);
    mls_group_free(next);
    mls_group_free(alice);
    sp_buf_free(&kb);
    sp_buf_free(&kc);
    sp_buf_free_secret(&pb);
}

/* The bytes to feed: the input itself, or base with the input's flips
 * (0xFF, then pairs of (offset u16 big-endian, xor byte)). Caller frees. */
static uint8_t *fx_input(const uint8_t *data, size_t size, const sp_buf *base, size_t *n)
{
    uint8_t *p;
    if (size >= 1 && data[0] == 0xFF && base->len) {
        p = malloc(base->len);
        if (!p)
            return NULL;
        memcpy(p, base->data, base->len);
        for (size_t i = 1; i + 3 <= size; i += 3) {
            size_t off = ((size_t)data[i] << 8 | data[i + 1]) % base->len;
            p[off] ^= data[i + 2];
        }
        *n = base->len;
        return p;
    }
    p = malloc(size ? size : 1);
    if (p && size)
        memcpy(p, data, size);
    *n = size;
    return p;
}

#endif
