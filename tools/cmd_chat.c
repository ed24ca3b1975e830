/*
 * cmd_chat.c — the CLI's channel and message commands (SpaceService key packages, invites,
 * membership; MessageService). Every command needs a session token: --token TOKEN, else
 * $SPACEPANDA_TOKEN. MLS bytes move between daemons as files, so a shell script can run the
 * reference scenario of API.md:
 *
 *   keypackage --out FILE                     GenerateKeyPackage; the KeyPackage bytes into FILE
 *   invite CHANNEL_ID KEYPACKAGE_FILE --out FILE
 *                                             CreateChannelInvite; FILE holds the whole response
 *                                             (a serialised CreateChannelInviteResponse)
 *   join INVITE_FILE                          JoinChannel with every field of the invite file
 *   member add|remove CHANNEL_ID USER_ID      AddMemberToChannel / RemoveMemberFromChannel
 *   send CHANNEL_ID TEXT                      SendMessage; prints the stored message
 *   messages CHANNEL_ID [--limit N] [--before MESSAGE_ID]
 *                                             GetMessages; one line per message:
 *                                             ID<TAB>SENDER_ID<TAB>TIMESTAMP<TAB>CONTENT
 *   stream CHANNEL_ID [--count N] [--wait-ms MS]
 *                                             StreamMessages; the same lines as they arrive, until
 *                                             N messages (0: no limit) or MS without one
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spacepanda.pb-c.h"

#define MAX_POS 4
#define FILE_MAX (8u << 20)

typedef struct {
    const char *token;
    const char *out;
    const char *before;
    long limit, count, wait_ms;
    const char *pos[MAX_POS];
    int npos;
} args;

static int parse(int argc, char **argv, int first, args *a)
{
    memset(a, 0, sizeof *a);
    a->token = getenv("SPACEPANDA_TOKEN");
    a->before = "";
    a->wait_ms = -1;
    for (int i = first; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            a->token = argv[++i];
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            a->out = argv[++i];
        } else if (strcmp(argv[i], "--before") == 0 && i + 1 < argc) {
            a->before = argv[++i];
        } else if ((strcmp(argv[i], "--limit") == 0 || strcmp(argv[i], "--count") == 0 ||
                    strcmp(argv[i], "--wait-ms") == 0) && i + 1 < argc) {
            const char *opt = argv[i++];
            long v = strtol(argv[i], &end, 10);
            if (*end || v < 0 || v > 1000000000)
                return -1;
            if (strcmp(opt, "--limit") == 0)
                a->limit = v;
            else if (strcmp(opt, "--count") == 0)
                a->count = v;
            else
                a->wait_ms = v;
        } else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && a->npos < MAX_POS) {
            a->pos[a->npos++] = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return -1;
        } else if (a->npos < MAX_POS) {
            a->pos[a->npos++] = argv[i];
        } else {
            return -1;
        }
    }
    if (!a->token)
        a->token = "";
    return 0;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "spacepanda: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(FILE_MAX);
    size_t n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
    int bad = !buf || ferror(f) || !feof(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "spacepanda: %s: cannot read (or larger than %u bytes)\n", path, FILE_MAX);
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "spacepanda: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A unary call whose response the command handles itself; 0 on OK, else the exit code. */
static int call(spc_client *c, const spc_opts *o, const char *cmd, const char *path,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
    spc_status st;
    if (spc_unary(c, path, req, desc, o->timeout_ms, resp, &st) != RPC_OK)
        return spc_report(cmd, &st);
    return 0;
}

static void print_line(const Spacepanda__Message *m)
{
    printf("%s\t%s\t%lld\t", m->id, m->sender_id, (long long)m->timestamp);
    /* one line per message: escape what would break it */
    for (const char *p = m->content; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p == '\\')
            fputs("\\\\", stdout);
        else
            putchar(*p);
    }
    putchar('\n');
}

static int cmd_keypackage(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 0)
        return spc_usage("keypackage");
    Spacepanda__GenerateKeyPackageRequest req = SPACEPANDA__GENERATE_KEY_PACKAGE_REQUEST__INIT;
    req.session_token = (char *)a.token;
    if (!a.out)
        return spc_call_print(c, o, "/spacepanda.SpaceService/GenerateKeyPackage", &req.base,
                              &spacepanda__generate_key_package_response__descriptor);
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "keypackage", "/spacepanda.SpaceService/GenerateKeyPackage", &req.base,
                  &spacepanda__generate_key_package_response__descriptor, &m);
    if (rc)
        return rc;
    Spacepanda__GenerateKeyPackageResponse *r = (Spacepanda__GenerateKeyPackageResponse *)m;
    rc = write_file(a.out, r->key_package.data, r->key_package.len) ? 1 : 0;
    if (!rc)
        printf("key_package: %zu bytes in %s\n", r->key_package.len, a.out);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
SPC_COMMAND("keypackage", "[--out FILE] [--token T]", "a fresh MLS KeyPackage for this user", cmd_keypackage)

static int cmd_invite(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 2 || !a.out)
        return spc_usage("invite");
    uint8_t *kp;
    size_t kp_len;
    if (read_file(a.pos[1], &kp, &kp_len) != 0)
        return 1;
    Spacepanda__CreateChannelInviteRequest req = SPACEPANDA__CREATE_CHANNEL_INVITE_REQUEST__INIT;
    req.session_token = (char *)a.token;
    req.channel_id = (char *)a.pos[0];
    req.key_package.data = kp;
    req.key_package.len = kp_len;
    void *resp = NULL;
    size_t resp_len = 0;
    spc_status st;
    size_t n = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *packed = malloc(n ? n : 1);
    if (!packed) {
        free(kp);
        return 1;
    }
    protobuf_c_message_pack(&req.base, packed);
    free(kp);
    int code = spc_unary_raw(c, "/spacepanda.SpaceService/CreateChannelInvite", packed, n, o->timeout_ms,
                             &resp, &resp_len, &st);
    free(packed);
    if (code != RPC_OK)
        return spc_report("invite", &st);
    /* the file is the response itself, exactly as the daemon sent it */
    int rc = write_file(a.out, resp, resp_len) ? 1 : 0;
    Spacepanda__CreateChannelInviteResponse *r =
        spacepanda__create_channel_invite_response__unpack(NULL, resp_len, resp);
    if (r) {
        printf("channel_id: %s\nspace_id: %s\nchannel_name: %s\ninvite_token: %zu bytes\ncommit: %zu bytes\n"
               "ratchet_tree: %zu bytes\ninvite: %s\n",
               r->channel_id, r->space_id, r->channel_name, r->invite_token.len, r->commit.len,
               r->ratchet_tree.len, a.out);
        spacepanda__create_channel_invite_response__free_unpacked(r, NULL);
    } else {
        fprintf(stderr, "spacepanda: invite: the response does not decode\n");
        rc = 1;
    }
    free(resp);
    return rc;
}
SPC_COMMAND("invite", "CHANNEL_ID KEYPACKAGE_FILE --out INVITE_FILE [--token T]",
            "invite the owner of a key package into a channel", cmd_invite)

static int cmd_join(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 1)
        return spc_usage("join");
    uint8_t *p;
    size_t n;
    if (read_file(a.pos[0], &p, &n) != 0)
        return 1;
    Spacepanda__CreateChannelInviteResponse *inv = spacepanda__create_channel_invite_response__unpack(NULL, n, p);
    free(p);
    if (!inv) {
        fprintf(stderr, "spacepanda: join: %s is not an invite file\n", a.pos[0]);
        return 2;
    }
    Spacepanda__JoinChannelRequest req = SPACEPANDA__JOIN_CHANNEL_REQUEST__INIT;
    req.session_token = (char *)a.token;
    req.invite_token = inv->invite_token;
    req.ratchet_tree = inv->ratchet_tree;
    req.space_id = inv->space_id;
    req.channel_name = inv->channel_name;
    req.channel_id = inv->channel_id;
    int rc = spc_call_print(c, o, "/spacepanda.SpaceService/JoinChannel", &req.base,
                            &spacepanda__join_channel_response__descriptor);
    spacepanda__create_channel_invite_response__free_unpacked(inv, NULL);
    return rc;
}
SPC_COMMAND("join", "INVITE_FILE [--token T]", "join a channel from an invite file", cmd_join)

static int cmd_member(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (argc < 2 || parse(argc, argv, 2, &a) != 0 || a.npos != 2)
        return spc_usage("member");
    if (strcmp(argv[1], "add") == 0) {
        Spacepanda__AddMemberToChannelRequest req = SPACEPANDA__ADD_MEMBER_TO_CHANNEL_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.channel_id = (char *)a.pos[0];
        req.user_id = (char *)a.pos[1];
        return spc_call_print(c, o, "/spacepanda.SpaceService/AddMemberToChannel", &req.base,
                              &spacepanda__add_member_to_channel_response__descriptor);
    }
    if (strcmp(argv[1], "remove") == 0) {
        Spacepanda__RemoveMemberFromChannelRequest req = SPACEPANDA__REMOVE_MEMBER_FROM_CHANNEL_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.channel_id = (char *)a.pos[0];
        req.user_id = (char *)a.pos[1];
        return spc_call_print(c, o, "/spacepanda.SpaceService/RemoveMemberFromChannel", &req.base,
                              &spacepanda__remove_member_from_channel_response__descriptor);
    }
    return spc_usage("member");
}
SPC_COMMAND("member", "add|remove CHANNEL_ID USER_ID [--token T]", "add a user (by id) to a channel, or remove one",
            cmd_member)

static int cmd_send(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 2)
        return spc_usage("send");
    Spacepanda__SendMessageRequest req = SPACEPANDA__SEND_MESSAGE_REQUEST__INIT;
    req.session_token = (char *)a.token;
    req.channel_id = (char *)a.pos[0];
    req.content = (char *)a.pos[1];
    return spc_call_print(c, o, "/spacepanda.MessageService/SendMessage", &req.base, &spacepanda__message__descriptor);
}
SPC_COMMAND("send", "CHANNEL_ID TEXT [--token T]", "send a message to a channel", cmd_send)

static int cmd_messages(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 1)
        return spc_usage("messages");
    Spacepanda__GetMessagesRequest req = SPACEPANDA__GET_MESSAGES_REQUEST__INIT;
    req.session_token = (char *)a.token;
    req.channel_id = (char *)a.pos[0];
    req.limit = (int32_t)a.limit;
    req.before = (char *)a.before;
    ProtobufCMessage *m = NULL;
    int rc = call(c, o, "messages", "/spacepanda.MessageService/GetMessages", &req.base,
                  &spacepanda__get_messages_response__descriptor, &m);
    if (rc)
        return rc;
    Spacepanda__GetMessagesResponse *r = (Spacepanda__GetMessagesResponse *)m;
    for (size_t i = 0; i < r->n_messages; i++)
        print_line(r->messages[i]);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
SPC_COMMAND("messages", "CHANNEL_ID [--limit N] [--before MESSAGE_ID] [--token T]",
            "a channel's messages, oldest first: ID, SENDER, TIMESTAMP, CONTENT per line", cmd_messages)

static int cmd_stream(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    (void)o;
    args a;
    if (parse(argc, argv, 1, &a) != 0 || a.npos != 1)
        return spc_usage("stream");
    Spacepanda__StreamMessagesRequest req = SPACEPANDA__STREAM_MESSAGES_REQUEST__INIT;
    req.session_token = (char *)a.token;
    req.channel_id = (char *)a.pos[0];
    spc_stream *s = NULL;
    spc_status st;
    if (spc_stream_open(c, "/spacepanda.MessageService/StreamMessages", &req.base, &spacepanda__message__descriptor,
                        0, &s, &st) != SP_OK)
        return spc_report("stream", &st);
    long got = 0;
    int r;
    ProtobufCMessage *m;
    st.code = RPC_OK;
    while ((a.count == 0 || got < a.count) && (r = spc_stream_next(s, (int)a.wait_ms, &m, &st)) == 1) {
        print_line((Spacepanda__Message *)m);
        fflush(stdout);
        protobuf_c_message_free_unpacked(m, NULL);
        got++;
    }
    spc_stream_close(s);
    if (st.code != RPC_OK)
        return spc_report("stream", &st);
    return a.count && got < a.count ? 4 : 0;
}
SPC_COMMAND("stream", "CHANNEL_ID [--count N] [--wait-ms MS] [--token T]",
            "print a channel's new messages as they arrive", cmd_stream)
