/* vec_transcript_hashes.c — transcript-hashes.json: confirmed/interim transcript hashes
 * and the confirmation tag of a commit (RFC 9420 §8.2). */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/transcript.h"
#include "vectors.h"

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        size_t n_key, n_ac, n_ib, n_ca, n_ia;
        uint8_t *key = json_gethex(c, "confirmation_key", &n_key);
        uint8_t *ac_bytes = json_gethex(c, "authenticated_content", &n_ac);
        uint8_t *ib = json_gethex(c, "interim_transcript_hash_before", &n_ib);
        uint8_t *ca = json_gethex(c, "confirmed_transcript_hash_after", &n_ca);
        uint8_t *ia = json_gethex(c, "interim_transcript_hash_after", &n_ia);
        const char *why = "missing field";
        int ok = 0;
        mls_authenticated_content ac = {0};
        uint8_t confirmed[MLS_HASH_LEN], interim[MLS_HASH_LEN];
        if (json_getu(c, "cipher_suite") != MLS_CIPHER_SUITE) {
            why = "unsupported cipher suite";
        } else if (key && ac_bytes && ib && ca && ia && n_key == MLS_HASH_LEN &&
                   n_ca == MLS_HASH_LEN && n_ia == MLS_HASH_LEN) {
            if (mls_authenticated_content_decode(ac_bytes, n_ac, &ac) != SP_OK)
                why = "AuthenticatedContent does not decode";
            else if (ac.content.content_type != MLS_CONTENT_COMMIT)
                why = "not a commit";
            else if (mls_transcript_update(ib, n_ib, &ac, confirmed, interim) != SP_OK)
                why = "transcript update failed";
            else if (memcmp(confirmed, ca, MLS_HASH_LEN) != 0)
                why = "confirmed transcript hash differs";
            else if (memcmp(interim, ia, MLS_HASH_LEN) != 0)
                why = "interim transcript hash differs";
            else if (mls_confirmation_tag_verify(key, confirmed, ac.auth.confirmation_tag.data,
                                                 ac.auth.confirmation_tag.len) != SP_OK)
                why = "confirmation tag does not verify";
            else
                ok = 1;
        }
        /* a wrong tag must be refused */
        if (ok) {
            uint8_t bad[MLS_HASH_LEN];
            memcpy(bad, ac.auth.confirmation_tag.data, MLS_HASH_LEN);
            bad[0] ^= 1;
            if (mls_confirmation_tag_verify(key, confirmed, bad, MLS_HASH_LEN) != SP_ERR_CRYPTO) {
                ok = 0;
                why = "a corrupted tag verified";
            }
        }
        mls_authenticated_content_free(&ac);
        free(key);
        free(ac_bytes);
        free(ib);
        free(ca);
        free(ia);
        vec_case(st, i, ok, why);
    }
}

MLS_VECTOR_CATEGORY("transcript-hashes", run)
