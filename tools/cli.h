/*
 * cli.h — how a command plugs into the spacepanda CLI.
 *
 * A command lives in its own file tools/cmd_<area>.c and registers itself with
 * SPC_COMMAND(name, usage, summary, fn); the CLI's main() parses the global
 * options (--server, --timeout), connects, and calls fn with the command's
 * own arguments (argv[0] is the command name). fn returns the process exit
 * code; spc_exit_for() gives the conventional one for a call's status:
 *
 *   0  success          1  the server answered with an error status
 *   2  usage error      3  the server could not be reached (UNAVAILABLE)
 *                       4  DEADLINE_EXCEEDED
 *
 * A typical unary command is a few lines:
 *
 *     static int cmd_lock(spc_client *c, int argc, char **argv, const spc_opts *o)
 *     {
 *         if (argc != 2) return spc_usage("lock");
 *         Spacepanda__LockRequest req = SPACEPANDA__LOCK_REQUEST__INIT;
 *         req.session_token = argv[1];
 *         return spc_call_print(c, o, "/spacepanda.AuthService/Lock", &req.base,
 *                               &spacepanda__lock_response__descriptor);
 *     }
 *     SPC_COMMAND("lock", "TOKEN", "end a session", cmd_lock)
 */
#ifndef SP_TOOLS_CLI_H
#define SP_TOOLS_CLI_H

#include <stdio.h>
#include "client.h"

typedef struct {
    const char *server; /* HOST:PORT */
    int timeout_ms;     /* per call */
} spc_opts;

typedef int (*spc_cmd_fn)(spc_client *c, int argc, char **argv, const spc_opts *o);

void spc_command_register(const char *name, const char *usage, const char *summary, spc_cmd_fn fn);

#define SPC_COMMAND(name, usage, summary, fn) \
    __attribute__((constructor)) static void spc_reg_##fn(void) { spc_command_register(name, usage, summary, fn); }

/* Prints "usage: spacepanda [global options] NAME USAGE" to stderr; returns 2. */
int spc_usage(const char *name);

/* The exit code for a status (see above). */
int spc_exit_for(int code);

/* Prints "spacepanda: CMD: CODE_NAME: message" to stderr; returns spc_exit_for(code). */
int spc_report(const char *cmd, const spc_status *st);

/*
 * Prints a message as "field: value" lines (nested fields as "user.id: ...",
 * repeated fields one line per element, bytes as hex, enums by name).
 */
void spc_print_message(FILE *f, const ProtobufCMessage *msg);

/* spc_unary, then spc_print_message on stdout or spc_report; returns the exit code. */
int spc_call_print(spc_client *c, const spc_opts *o, const char *path, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc);

#endif
