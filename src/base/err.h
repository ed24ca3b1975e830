/*
 * err.h — the project's one error enum.
 *
 * Every fallible function returns sp_err: 0 (SP_OK) is success, the rest are
 * negative. Results travel through out parameters. rpc/ maps these codes to
 * gRPC status codes; logs print sp_strerror().
 */
#ifndef SP_BASE_ERR_H
#define SP_BASE_ERR_H

typedef enum {
    SP_OK = 0,
    SP_ERR_NOMEM = -1,       /* allocation failed */
    SP_ERR_INVALID = -2,     /* malformed input, bad argument */
    SP_ERR_TRUNCATED = -3,   /* input ended before the value did */
    SP_ERR_TOO_LARGE = -4,   /* a length over a hard limit */
    SP_ERR_NOT_FOUND = -5,   /* no such object */
    SP_ERR_EXISTS = -6,      /* already exists, already used */
    SP_ERR_PERMISSION = -7,  /* exists, but not for this caller */
    SP_ERR_AUTH = -8,        /* unauthenticated: bad token or password */
    SP_ERR_CRYPTO = -9,      /* signature, MAC, AEAD or consistency check failed */
    SP_ERR_STATE = -10,      /* the object is not in a state that allows this */
    SP_ERR_IO = -11,         /* file, socket or database error */
    SP_ERR_INTERNAL = -12,   /* a bug or an unexpected library failure */
    SP_ERR_UNSUPPORTED = -13,/* valid, but not something we implement */
    SP_ERR_AGAIN = -14,      /* need more input / try later */
    SP_ERR_TIMEOUT = -15,    /* a deadline passed */
} sp_err;

/* A short constant English description; never NULL. */
const char *sp_strerror(sp_err err);

#endif
