/* vec_welcome.c — welcome.json: find our entry in a Welcome, decrypt the
 * GroupSecrets with the init key and the GroupInfo with the welcome key,
 * verify the GroupInfo signature and its confirmation tag (RFC 9420 §12.4.3). */
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/group_internal.h"
#include "mls/transcript.h"
#include "vectors.h"

static const char *one(const json *c)
{
    size_t nk, nw, ni, ns;
    uint8_t *kpb = json_gethex(c, "key_package", &nk), *wb = json_gethex(c, "welcome", &nw),
            *init = json_gethex(c, "init_priv", &ni), *spub = json_gethex(c, "signer_pub", &ns);
    mls_message kpm = {0}, wm = {0};
    mls_group_secrets gs = {0};
    mls_group_info gi = {0};
    uint8_t psk[MLS_HASH_LEN];
    mls_epoch_secrets sec;
    sp_buf b = SP_BUF_INIT;
    const char *why = NULL;
    if (!kpb || !wb || !init || ni != MLS_KEM_PRIV_LEN || !spub || ns != MLS_SIG_PUB_LEN)
        why = "missing field";
    else if (mls_message_decode(kpb, nk, &kpm) || kpm.wire_format != MLS_WIRE_KEY_PACKAGE)
        why = "key package does not decode";
    else if (mls_message_decode(wb, nw, &wm) || wm.wire_format != MLS_WIRE_WELCOME)
        why = "welcome does not decode";
    else if (mls_welcome_open(&wm.welcome, &kpm.key_package, init, NULL, 0, &gs, psk, &gi))
        why = "welcome does not open";
    else if (mls_group_info_write_tbs(&b, &gi) ||
             mls_verify_with_label(spub, "GroupInfoTBS", b.data, b.len, gi.signature.data,
                                   gi.signature.len))
        why = "group info signature does not verify";
    sp_buf_reset(&b);
    if (!why && (mls_group_context_write(&b, &gi.group_context) ||
                 mls_key_schedule_from_joiner(gs.joiner_secret.data, NULL, b.data, b.len, &sec)))
        why = "key schedule failed";
    if (!why && (gi.group_context.confirmed_transcript_hash.len != MLS_HASH_LEN ||
                 mls_confirmation_tag_verify(sec.confirmation_key,
                                             gi.group_context.confirmed_transcript_hash.data,
                                             gi.confirmation_tag.data, gi.confirmation_tag.len)))
        why = "confirmation tag does not verify";
    sp_buf_free(&b);
    mls_group_secrets_free(&gs);
    mls_group_info_free(&gi);
    mls_message_free(&kpm);
    mls_message_free(&wm);
    free(kpb), free(wb), free(init), free(spub);
    return why;
}

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const char *why = one(json_at(root, i));
        vec_case(st, i, why == NULL, why);
    }
}

MLS_VECTOR_CATEGORY("welcome", run)
