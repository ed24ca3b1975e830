/* handshake.c — building, signing and checking the handshake transcript. */
#include "net/handshake.h"

#include <string.h>

static const char LABEL[] = "spacepanda/p2p/1 auth"; /* sizeof includes the 0x00 separator */

sp_err net_handshake_transcript(sp_buf *out, const net_hello *signer, const net_hello *other)
{
    sp_buf_append(out, LABEL, sizeof LABEL);
    net_hello_encode(out, signer);
    net_hello_encode(out, other);
    return out->failed ? SP_ERR_NOMEM : SP_OK;
}

sp_err net_handshake_sign(const net_identity *id, const net_hello *mine, const net_hello *theirs,
                          uint8_t sig[NET_SIG_LEN])
{
    sp_buf t = SP_BUF_INIT;
    sp_err e = net_handshake_transcript(&t, mine, theirs);
    if (!e)
        e = net_identity_sign(id, t.data, t.len, sig);
    sp_buf_free(&t);
    return e;
}

sp_err net_handshake_verify(const net_hello *theirs, const net_hello *mine, const uint8_t sig[NET_SIG_LEN])
{
    sp_buf t = SP_BUF_INIT;
    sp_err e = net_handshake_transcript(&t, theirs, mine);
    if (!e)
        e = net_verify(theirs->pubkey, t.data, t.len, sig);
    sp_buf_free(&t);
    return e;
}
