/* codec_framing.c — the message envelopes of RFC 9420 §6: Sender, FramedContent,
 * FramedContentAuthData, AuthenticatedContent, PublicMessage, PrivateMessage and
 * MLSMessage with every wire format. */
#include "mls/codec_internal.h"

static sp_err rd_sender(sp_reader *r, mls_sender *s)
{
    TRY(sp_read_u8(r, &s->type));
    switch (s->type) {
    case MLS_SENDER_MEMBER:
    case MLS_SENDER_EXTERNAL:
        return sp_read_u32(r, &s->index);
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        return SP_OK;
    default:
        return SP_ERR_INVALID;
    }
}

static sp_err wr_sender(sp_buf *b, const mls_sender *s)
{
    TRY(sp_buf_put_u8(b, s->type));
    switch (s->type) {
    case MLS_SENDER_MEMBER:
    case MLS_SENDER_EXTERNAL:
        return sp_buf_put_u32(b, s->index);
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        return SP_OK;
    default:
        return SP_ERR_INVALID;
    }
}

sp_err mls_content_body_read(sp_reader *r, mls_framed_content *c)
{
    switch (c->content_type) {
    case MLS_CONTENT_APPLICATION:
        return mls_rd_bytes(r, &c->application_data);
    case MLS_CONTENT_PROPOSAL:
        return mls_rd_proposal(r, &c->proposal);
    case MLS_CONTENT_COMMIT:
        return mls_rd_commit(r, &c->commit);
    default:
        return SP_ERR_INVALID;
    }
}

sp_err mls_content_body_write(sp_buf *b, const mls_framed_content *c)
{
    switch (c->content_type) {
    case MLS_CONTENT_APPLICATION:
        return mls_wr_bytes(b, &c->application_data);
    case MLS_CONTENT_PROPOSAL:
        return mls_proposal_write(b, &c->proposal);
    case MLS_CONTENT_COMMIT:
        return mls_commit_write(b, &c->commit);
    default:
        return SP_ERR_INVALID;
    }
}

/* ---- FramedContent ----------------------------------------------------------------------- */

sp_err mls_rd_framed_content(sp_reader *r, mls_framed_content *out)
{
    TRY(mls_rd_bytes(r, &out->group_id));
    TRY(sp_read_u64(r, &out->epoch));
    TRY(rd_sender(r, &out->sender));
    TRY(mls_rd_bytes(r, &out->authenticated_data));
    TRY(sp_read_u8(r, &out->content_type));
    return mls_content_body_read(r, out);
}
MLS_CODEC_DEFINE(framed_content)

sp_err mls_framed_content_write(sp_buf *b, const mls_framed_content *c)
{
    TRY(mls_wr_bytes(b, &c->group_id));
    TRY(sp_buf_put_u64(b, c->epoch));
    TRY(wr_sender(b, &c->sender));
    TRY(mls_wr_bytes(b, &c->authenticated_data));
    TRY(sp_buf_put_u8(b, c->content_type));
    return mls_content_body_write(b, c);
}

sp_err mls_framed_content_write_tbs(sp_buf *b, uint16_t wire_format, const mls_framed_content *c,
                                    const mls_group_context *ctx)
{
    TRY(sp_buf_put_u16(b, MLS_VERSION_10));
    TRY(sp_buf_put_u16(b, wire_format));
    TRY(mls_framed_content_write(b, c));
    if (c->sender.type == MLS_SENDER_MEMBER || c->sender.type == MLS_SENDER_NEW_MEMBER_COMMIT) {
        if (!ctx)
            return SP_ERR_INVALID;
        TRY(mls_group_context_write(b, ctx));
    }
    return SP_OK;
}

/* ---- FramedContentAuthData, AuthenticatedContent ----------------------------------------- */

sp_err mls_auth_data_read(sp_reader *r, uint8_t content_type, mls_auth_data *out)
{
    TRY(mls_rd_bytes(r, &out->signature));
    if (content_type == MLS_CONTENT_COMMIT)
        TRY(mls_rd_bytes(r, &out->confirmation_tag));
    return SP_OK;
}

sp_err mls_auth_data_write(sp_buf *b, uint8_t content_type, const mls_auth_data *a)
{
    TRY(mls_wr_bytes(b, &a->signature));
    if (content_type == MLS_CONTENT_COMMIT)
        TRY(mls_wr_bytes(b, &a->confirmation_tag));
    return SP_OK;
}

static int wire_format_known(uint16_t wf)
{
    return wf >= MLS_WIRE_PUBLIC_MESSAGE && wf <= MLS_WIRE_KEY_PACKAGE;
}

sp_err mls_rd_authenticated_content(sp_reader *r, mls_authenticated_content *out)
{
    TRY(sp_read_u16(r, &out->wire_format));
    if (!wire_format_known(out->wire_format))
        return SP_ERR_UNSUPPORTED;
    TRY(mls_rd_framed_content(r, &out->content));
    return mls_auth_data_read(r, out->content.content_type, &out->auth);
}
MLS_CODEC_DEFINE(authenticated_content)

sp_err mls_authenticated_content_write(sp_buf *b, const mls_authenticated_content *a)
{
    TRY(sp_buf_put_u16(b, a->wire_format));
    TRY(mls_framed_content_write(b, &a->content));
    return mls_auth_data_write(b, a->content.content_type, &a->auth);
}

/* ---- PublicMessage, PrivateMessage ---------------------------------------------------------- */

sp_err mls_rd_public_message(sp_reader *r, mls_public_message *out)
{
    TRY(mls_rd_framed_content(r, &out->content));
    TRY(mls_auth_data_read(r, out->content.content_type, &out->auth));
    if (out->content.sender.type == MLS_SENDER_MEMBER)
        TRY(mls_rd_bytes(r, &out->membership_tag));
    return SP_OK;
}
MLS_CODEC_DEFINE(public_message)

sp_err mls_public_message_write(sp_buf *b, const mls_public_message *m)
{
    TRY(mls_framed_content_write(b, &m->content));
    TRY(mls_auth_data_write(b, m->content.content_type, &m->auth));
    if (m->content.sender.type == MLS_SENDER_MEMBER)
        TRY(mls_wr_bytes(b, &m->membership_tag));
    return SP_OK;
}

sp_err mls_rd_private_message(sp_reader *r, mls_private_message *out)
{
    TRY(mls_rd_bytes(r, &out->group_id));
    TRY(sp_read_u64(r, &out->epoch));
    TRY(sp_read_u8(r, &out->content_type));
    if (out->content_type < MLS_CONTENT_APPLICATION || out->content_type > MLS_CONTENT_COMMIT)
        return SP_ERR_INVALID;
    TRY(mls_rd_bytes(r, &out->authenticated_data));
    TRY(mls_rd_bytes(r, &out->encrypted_sender_data));
    return mls_rd_bytes(r, &out->ciphertext);
}
MLS_CODEC_DEFINE(private_message)

sp_err mls_private_message_write(sp_buf *b, const mls_private_message *m)
{
    TRY(mls_wr_bytes(b, &m->group_id));
    TRY(sp_buf_put_u64(b, m->epoch));
    TRY(sp_buf_put_u8(b, m->content_type));
    TRY(mls_wr_bytes(b, &m->authenticated_data));
    TRY(mls_wr_bytes(b, &m->encrypted_sender_data));
    return mls_wr_bytes(b, &m->ciphertext);
}

/* ---- MLSMessage --------------------------------------------------------------------------- */

sp_err mls_rd_message(sp_reader *r, mls_message *out)
{
    TRY(sp_read_u16(r, &out->version));
    if (out->version != MLS_VERSION_10)
        return SP_ERR_UNSUPPORTED;
    TRY(sp_read_u16(r, &out->wire_format));
    switch (out->wire_format) {
    case MLS_WIRE_PUBLIC_MESSAGE:
        return mls_rd_public_message(r, &out->public_message);
    case MLS_WIRE_PRIVATE_MESSAGE:
        return mls_rd_private_message(r, &out->private_message);
    case MLS_WIRE_WELCOME:
        return mls_rd_welcome(r, &out->welcome);
    case MLS_WIRE_GROUP_INFO:
        return mls_rd_group_info(r, &out->group_info);
    case MLS_WIRE_KEY_PACKAGE:
        return mls_rd_key_package(r, &out->key_package);
    default:
        return SP_ERR_UNSUPPORTED;
    }
}
MLS_CODEC_DEFINE(message)

sp_err mls_message_write(sp_buf *b, const mls_message *m)
{
    TRY(sp_buf_put_u16(b, m->version));
    TRY(sp_buf_put_u16(b, m->wire_format));
    switch (m->wire_format) {
    case MLS_WIRE_PUBLIC_MESSAGE:
        return mls_public_message_write(b, &m->public_message);
    case MLS_WIRE_PRIVATE_MESSAGE:
        return mls_private_message_write(b, &m->private_message);
    case MLS_WIRE_WELCOME:
        return mls_welcome_write(b, &m->welcome);
    case MLS_WIRE_GROUP_INFO:
        return mls_group_info_write(b, &m->group_info);
    case MLS_WIRE_KEY_PACKAGE:
        return mls_key_package_write(b, &m->key_package);
    default:
        return SP_ERR_UNSUPPORTED;
    }
}
