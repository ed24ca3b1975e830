/* vec_messages.c — messages.json: every structure decodes and re-encodes to the same
 * bytes (RFC 9420 §6, §7, §12), for every cipher suite's items; and the key packages
 * of the Ed25519 suites (1 and 3) carry valid leaf and package signatures, which
 * checks the to-be-signed encodings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mls/codec.h"
#include "mls/signed.h"
#include "vectors.h"

/* Decodes bytes as T, re-encodes, compares; a non-NULL extra runs on the decoded value. */
#define ROUNDTRIP(T, p, n, extra)                                                 \
    ({                                                                            \
        mls_##T v_;                                                               \
        sp_buf b_ = SP_BUF_INIT;                                                  \
        int ok_ = mls_##T##_decode((p), (n), &v_) == SP_OK;                       \
        ok_ = ok_ && mls_##T##_write(&b_, &v_) == SP_OK && b_.len == (n) &&       \
              memcmp(b_.data, (p), (n)) == 0;                                     \
        if (ok_)                                                                  \
            ok_ = extra(&v_);                                                     \
        mls_##T##_free(&v_);                                                      \
        sp_buf_free(&b_);                                                         \
        ok_;                                                                      \
    })

static int no_check(const void *v)
{
    (void)v;
    return 1;
}

static uint16_t want_wire;
static int want_content;

static int check_message(const mls_message *m)
{
    if (m->wire_format != want_wire)
        return 0;
    if (want_wire == MLS_WIRE_PUBLIC_MESSAGE &&
        m->public_message.content.content_type != want_content)
        return 0;
    if (want_wire == MLS_WIRE_KEY_PACKAGE) {
        /* the kept raw bytes are the key package itself, without the MLSMessage header */
        sp_buf b = SP_BUF_INIT;
        int ok = mls_key_package_write(&b, &m->key_package) == SP_OK &&
                 b.len == m->key_package.raw.len &&
                 memcmp(b.data, m->key_package.raw.data, b.len) == 0;
        sp_buf_free(&b);
        uint16_t cs = m->key_package.cipher_suite;
        if (ok && (cs == 1 || cs == 3))
            ok = mls_key_package_verify(&m->key_package) == SP_OK;
        return ok;
    }
    return 1;
}

static int check_msg(const json *c, const char *key, uint16_t wire, int content, char *why)
{
    size_t n;
    uint8_t *p = json_gethex(c, key, &n);
    want_wire = wire;
    want_content = content;
    int ok = p && ROUNDTRIP(message, p, n, check_message);
    free(p);
    if (!ok)
        snprintf(why, 128, "%s", key);
    return ok;
}

/* Proposal bodies (Add, Update, ...) are given without their type: decode them as a
 * Proposal with the type put in front. */
static int check_proposal(const json *c, const char *key, uint16_t type, char *why)
{
    size_t n;
    uint8_t *p = json_gethex(c, key, &n);
    int ok = 0;
    if (p) {
        uint8_t *q = malloc(n + 2);
        q[0] = (uint8_t)(type >> 8);
        q[1] = (uint8_t)type;
        memcpy(q + 2, p, n);
        ok = ROUNDTRIP(proposal, q, n + 2, no_check);
        free(q);
    }
    free(p);
    if (!ok)
        snprintf(why, 128, "%s", key);
    return ok;
}

#define CHECK_PLAIN(T, key)                                                       \
    do {                                                                          \
        size_t n_;                                                                \
        uint8_t *p_ = json_gethex(c, key, &n_);                                   \
        int ok_ = p_ && ROUNDTRIP(T, p_, n_, no_check);                           \
        free(p_);                                                                 \
        if (!ok_) {                                                               \
            snprintf(why, sizeof why, "%s", key);                                 \
            ok = 0;                                                               \
        }                                                                         \
    } while (0)

static void run(const json *root, vec_stats *st)
{
    for (size_t i = 0; i < json_len(root); i++) {
        const json *c = json_at(root, i);
        char why[128] = "";
        int ok = 1;
        ok &= check_msg(c, "mls_welcome", MLS_WIRE_WELCOME, 0, why);
        ok &= check_msg(c, "mls_group_info", MLS_WIRE_GROUP_INFO, 0, why);
        ok &= check_msg(c, "mls_key_package", MLS_WIRE_KEY_PACKAGE, 0, why);
        ok &= check_msg(c, "public_message_application", MLS_WIRE_PUBLIC_MESSAGE,
                        MLS_CONTENT_APPLICATION, why);
        ok &= check_msg(c, "public_message_proposal", MLS_WIRE_PUBLIC_MESSAGE,
                        MLS_CONTENT_PROPOSAL, why);
        ok &= check_msg(c, "public_message_commit", MLS_WIRE_PUBLIC_MESSAGE, MLS_CONTENT_COMMIT,
                        why);
        ok &= check_msg(c, "private_message", MLS_WIRE_PRIVATE_MESSAGE, 0, why);
        CHECK_PLAIN(ratchet_tree, "ratchet_tree");
        CHECK_PLAIN(group_secrets, "group_secrets");
        CHECK_PLAIN(commit, "commit");
        ok &= check_proposal(c, "add_proposal", MLS_PROPOSAL_ADD, why);
        ok &= check_proposal(c, "update_proposal", MLS_PROPOSAL_UPDATE, why);
        ok &= check_proposal(c, "remove_proposal", MLS_PROPOSAL_REMOVE, why);
        ok &= check_proposal(c, "pre_shared_key_proposal", MLS_PROPOSAL_PSK, why);
        ok &= check_proposal(c, "re_init_proposal", MLS_PROPOSAL_REINIT, why);
        ok &= check_proposal(c, "external_init_proposal", MLS_PROPOSAL_EXTERNAL_INIT, why);
        ok &= check_proposal(c, "group_context_extensions_proposal",
                             MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS, why);
        vec_case(st, i, ok, why);
    }
}

MLS_VECTOR_CATEGORY("messages", run)
