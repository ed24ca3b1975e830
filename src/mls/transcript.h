/*
 * transcript.h — the transcript hashes and the confirmation tag (RFC 9420 §8.2).
 *
 * Each commit extends two running hashes:
 *   confirmed_n = Hash(interim_{n-1} || ConfirmedTranscriptHashInput)
 *                 where the input is wire_format || FramedContent || signature<V>
 *   interim_n   = Hash(confirmed_n || InterimTranscriptHashInput{confirmation_tag<V>})
 * and the commit's confirmation tag is MAC(confirmation_key, confirmed_n),
 * computed with the new epoch's confirmation key. A new group starts with an
 * empty interim hash (length 0); every later hash is MLS_HASH_LEN bytes.
 * Results go to caller buffers of MLS_HASH_LEN bytes.
 */
#ifndef SP_MLS_TRANSCRIPT_H
#define SP_MLS_TRANSCRIPT_H

#include "mls/crypto.h"
#include "mls/types.h"

/* confirmed_n from interim_{n-1} and the commit's AuthenticatedContent
 * (SP_ERR_INVALID unless its content is a commit). */
sp_err mls_confirmed_transcript_hash(const uint8_t *interim_before, size_t interim_len,
                                     const mls_authenticated_content *commit,
                                     uint8_t out[MLS_HASH_LEN]);
/* interim_n from confirmed_n and the commit's confirmation tag. */
sp_err mls_interim_transcript_hash(const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                                   size_t tag_len, uint8_t out[MLS_HASH_LEN]);
/* Both, in one step, using commit->auth.confirmation_tag. */
sp_err mls_transcript_update(const uint8_t *interim_before, size_t interim_len,
                             const mls_authenticated_content *commit,
                             uint8_t confirmed_out[MLS_HASH_LEN],
                             uint8_t interim_out[MLS_HASH_LEN]);

/* confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash). */
sp_err mls_confirmation_tag(const uint8_t key[MLS_HASH_LEN], const uint8_t confirmed[MLS_HASH_LEN],
                            uint8_t tag[MLS_HASH_LEN]);
/* SP_OK when tag is the right one (compared in constant time), SP_ERR_CRYPTO if not. */
sp_err mls_confirmation_tag_verify(const uint8_t key[MLS_HASH_LEN],
                                   const uint8_t confirmed[MLS_HASH_LEN], const uint8_t *tag,
                                   size_t tag_len);

#endif
