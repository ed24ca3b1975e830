/*
 * cli.c — the spacepanda command-line client: global options, the command
 * table (filled by SPC_COMMAND in tools/cmd_*.c), and shared helpers.
 * Output is plain text for scripts; errors go to stderr; exit codes in cli.h.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMMANDS 128
#define DEFAULT_SERVER "127.0.0.1:50051"
#define DEFAULT_TIMEOUT_MS 10000

typedef struct {
    const char *name, *usage, *summary;
    spc_cmd_fn fn;
} command;

static command g_cmds[MAX_COMMANDS];
static int g_ncmds;

void spc_command_register(const char *name, const char *usage, const char *summary, spc_cmd_fn fn)
{
    if (g_ncmds < MAX_COMMANDS)
        g_cmds[g_ncmds++] = (command){name, usage, summary, fn};
}

static int cmd_cmp(const void *a, const void *b)
{
    return strcmp(((const command *)a)->name, ((const command *)b)->name);
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: spacepanda [--server HOST:PORT] [--timeout MS] COMMAND [ARGS...]\n"
            "\n"
            "Talks to a spacepandad over gRPC. --server defaults to $SPACEPANDA_SERVER, else\n"
            DEFAULT_SERVER "; --timeout (default %d ms) is each call's deadline.\n"
            "Exit status: 0 ok, 1 error status from the server, 2 usage, 3 unreachable, 4 deadline.\n"
            "\ncommands:\n",
            DEFAULT_TIMEOUT_MS);
    for (int i = 0; i < g_ncmds; i++)
        fprintf(f, "  %-10s %-28s %s\n", g_cmds[i].name, g_cmds[i].usage, g_cmds[i].summary);
}

int spc_usage(const char *name)
{
    for (int i = 0; i < g_ncmds; i++)
        if (strcmp(g_cmds[i].name, name) == 0)
            fprintf(stderr, "usage: spacepanda [global options] %s %s\n", name, g_cmds[i].usage);
    return 2;
}

int spc_exit_for(int code)
{
    switch (code) {
    case RPC_OK: return 0;
    case RPC_UNAVAILABLE: return 3;
    case RPC_DEADLINE_EXCEEDED: return 4;
    default: return 1;
    }
}

int spc_report(const char *cmd, const spc_status *st)
{
    fprintf(stderr, "spacepanda: %s: %s%s%s\n", cmd, rpc_status_name(st->code), st->message[0] ? ": " : "",
            st->message);
    return spc_exit_for(st->code);
}

/* ---- generic message printer ---------------------------------------------------------- */

static void print_value(FILE *f, const char *prefix, const ProtobufCFieldDescriptor *fd, const void *p);

static void print_fields(FILE *f, const char *prefix, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        const char *base = (const char *)msg;
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, fd->name);
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + fd->quantifier_offset);
            const char *arr = *(const char *const *)(base + fd->offset);
            size_t sz;
            switch (fd->type) {
            case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_SINT64:
            case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
                sz = 8; break;
            case PROTOBUF_C_TYPE_BOOL: sz = sizeof(protobuf_c_boolean); break;
            case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: sz = sizeof(void *); break;
            case PROTOBUF_C_TYPE_BYTES: sz = sizeof(ProtobufCBinaryData); break;
            default: sz = 4; break;
            }
            for (size_t k = 0; k < n; k++)
                print_value(f, name, fd, arr + k * sz);
        } else {
            const void *p = base + fd->offset;
            if (fd->type == PROTOBUF_C_TYPE_MESSAGE && *(const void *const *)p == NULL)
                continue;
            print_value(f, name, fd, p);
        }
    }
}

static void print_value(FILE *f, const char *name, const ProtobufCFieldDescriptor *fd, const void *p)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        fprintf(f, "%s: %s\n", name, s ? s : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        fprintf(f, "%s: ", name);
        for (size_t i = 0; i < b->len; i++)
            fprintf(f, "%02x", b->data[i]);
        fputc('\n', f);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        char prefix[260];
        snprintf(prefix, sizeof prefix, "%s.", name);
        print_fields(f, prefix, *(const ProtobufCMessage *const *)p);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL:
        fprintf(f, "%s: %s\n", name, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);
        if (ev)
            fprintf(f, "%s: %s\n", name, ev->name);
        else
            fprintf(f, "%s: %d\n", name, v);
        break;
    }
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        fprintf(f, "%s: %" PRId64 "\n", name, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        fprintf(f, "%s: %" PRIu64 "\n", name, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        fprintf(f, "%s: %" PRIu32 "\n", name, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        fprintf(f, "%s: %g\n", name, (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        fprintf(f, "%s: %g\n", name, *(const double *)p);
        break;
    default:
        fprintf(f, "%s: %" PRId32 "\n", name, *(const int32_t *)p);
        break;
    }
}

void spc_print_message(FILE *f, const ProtobufCMessage *msg) { print_fields(f, "", msg); }

int spc_call_print(spc_client *c, const spc_opts *o, const char *path, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *resp_desc)
{
    spc_status st;
    ProtobufCMessage *resp = NULL;
    const char *slash = strrchr(path, '/');
    if (spc_unary(c, path, req, resp_desc, o->timeout_ms, &resp, &st) != RPC_OK)
        return spc_report(slash ? slash + 1 : path, &st);
    spc_print_message(stdout, resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    spc_opts o = {getenv("SPACEPANDA_SERVER"), DEFAULT_TIMEOUT_MS};
    if (!o.server || !*o.server)
        o.server = DEFAULT_SERVER;
    qsort(g_cmds, (size_t)g_ncmds, sizeof g_cmds[0], cmd_cmp);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            o.server = argv[++i];
        } else if (strncmp(argv[i], "--server=", 9) == 0) {
            o.server = argv[i] + 9;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t <= 0 || t > 86400000) {
                fprintf(stderr, "spacepanda: --timeout: expected milliseconds: %s\n", argv[i]);
                return 2;
            }
            o.timeout_ms = (int)t;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            puts("spacepanda 0.1.0");
            return 0;
        } else {
            fprintf(stderr, "spacepanda: unknown option %s\n", argv[i]);
            help(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        help(stderr);
        return 2;
    }
    const command *cmd = NULL;
    for (int k = 0; k < g_ncmds; k++)
        if (strcmp(g_cmds[k].name, argv[i]) == 0)
            cmd = &g_cmds[k];
    if (!cmd) {
        fprintf(stderr, "spacepanda: unknown command %s (try --help)\n", argv[i]);
        return 2;
    }
    spc_client *c = NULL;
    spc_status st;
    if (spc_connect(o.server, o.timeout_ms, &c, &st) != SP_OK)
        return spc_report(cmd->name, &st);
    int rc = cmd->fn(c, argc - i, argv + i, &o);
    spc_close(c);
    return rc;
}
