/*
 * cmd_profile.c — `spacepanda profile create|unlock|lock`: AuthService.
 *
 *   profile create USERNAME [PASSWORD]   a new local profile; prints session_token and user
 *   profile unlock [USERNAME] [PASSWORD] a session for an existing profile ("" or no USERNAME:
 *                                        the default profile); prints session_token and user
 *   profile lock [TOKEN]                 ends a session
 *
 * A password not given as an argument is read from the first line of stdin (keeps it out of
 * `ps`). TOKEN defaults to $SPACEPANDA_TOKEN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "spacepanda.pb-c.h"

/* First line of stdin, without the newline, into buf. 0 on success. */
static int read_password(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return 0;
}

static int cmd_profile(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    if (argc < 2)
        return spc_usage("profile");
    const char *sub = argv[1];
    char pw[1100];
    int rc;
    if (strcmp(sub, "create") == 0 || strcmp(sub, "unlock") == 0) {
        int create = sub[0] == 'c';
        if (argc > 4 || (create && argc < 3))
            return spc_usage("profile");
        const char *user = argc >= 3 ? argv[2] : "";
        const char *pass = argc == 4 ? argv[3] : NULL;
        if (!pass) {
            if (read_password(pw, sizeof pw) != 0) {
                fprintf(stderr, "spacepanda: profile %s: no password (argument or stdin)\n", sub);
                return 2;
            }
            pass = pw;
        }
        if (create) {
            Spacepanda__CreateProfileRequest req = SPACEPANDA__CREATE_PROFILE_REQUEST__INIT;
            req.username = (char *)user;
            req.password = (char *)pass;
            rc = spc_call_print(c, o, "/spacepanda.AuthService/CreateProfile", &req.base,
                                &spacepanda__create_profile_response__descriptor);
        } else {
            Spacepanda__UnlockRequest req = SPACEPANDA__UNLOCK_REQUEST__INIT;
            req.username = (char *)user;
            req.password = (char *)pass;
            rc = spc_call_print(c, o, "/spacepanda.AuthService/Unlock", &req.base,
                                &spacepanda__unlock_response__descriptor);
        }
        OPENSSL_cleanse(pw, sizeof pw);
        return rc;
    }
    if (strcmp(sub, "lock") == 0) {
        if (argc > 3)
            return spc_usage("profile");
        const char *tok = argc == 3 ? argv[2] : getenv("SPACEPANDA_TOKEN");
        Spacepanda__LockRequest req = SPACEPANDA__LOCK_REQUEST__INIT;
        req.session_token = (char *)(tok ? tok : "");
        return spc_call_print(c, o, "/spacepanda.AuthService/Lock", &req.base,
                              &spacepanda__lock_response__descriptor);
    }
    return spc_usage("profile");
}
SPC_COMMAND("profile", "create USERNAME [PASSWORD] | unlock [USERNAME] [PASSWORD] | lock [TOKEN]",
            "local profiles and sessions (password from stdin if not given)", cmd_profile)
