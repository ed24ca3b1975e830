/*
 * cmd_space.c — `spacepanda space ...` and `spacepanda channel ...`: SpaceService's spaces and
 * channels. Every command needs a session token: --token TOKEN, else $SPACEPANDA_TOKEN.
 *
 *   space create NAME [--description TEXT] [--public|--private]
 *   space list
 *   space get SPACE_ID
 *   channel create SPACE_ID NAME [--description TEXT] [--public|--private]
 *   channel list SPACE_ID
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "spacepanda.pb-c.h"

#define MAX_POS 4

typedef struct {
    const char *token;
    const char *description;
    int visibility;         /* 0 unspecified, 1 public, 2 private */
    const char *pos[MAX_POS];
    int npos;
} args;

/* Splits options from positional arguments (after the subcommand). -1 on a usage error. */
static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->token = getenv("SPACEPANDA_TOKEN");
    a->description = "";
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            a->token = argv[++i];
        else if (strcmp(argv[i], "--description") == 0 && i + 1 < argc)
            a->description = argv[++i];
        else if (strcmp(argv[i], "--public") == 0)
            a->visibility = 1;
        else if (strcmp(argv[i], "--private") == 0)
            a->visibility = 2;
        else if (strcmp(argv[i], "--") == 0 && i + 1 < argc && a->npos < MAX_POS)
            a->pos[a->npos++] = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return -1;
        else if (a->npos < MAX_POS)
            a->pos[a->npos++] = argv[i];
        else
            return -1;
    }
    if (!a->token)
        a->token = "";
    return 0;
}

static int cmd_space(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (argc < 2 || parse(argc, argv, &a) != 0)
        return spc_usage("space");
    const char *sub = argv[1];
    if (strcmp(sub, "create") == 0 && a.npos == 1) {
        Spacepanda__CreateSpaceRequest req = SPACEPANDA__CREATE_SPACE_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.name = (char *)a.pos[0];
        req.description = (char *)a.description;
        req.visibility = (Spacepanda__SpaceVisibility)a.visibility;
        return spc_call_print(c, o, "/spacepanda.SpaceService/CreateSpace", &req.base,
                              &spacepanda__create_space_response__descriptor);
    }
    if (strcmp(sub, "list") == 0 && a.npos == 0) {
        Spacepanda__ListSpacesRequest req = SPACEPANDA__LIST_SPACES_REQUEST__INIT;
        req.session_token = (char *)a.token;
        return spc_call_print(c, o, "/spacepanda.SpaceService/ListSpaces", &req.base,
                              &spacepanda__list_spaces_response__descriptor);
    }
    if (strcmp(sub, "get") == 0 && a.npos == 1) {
        Spacepanda__GetSpaceRequest req = SPACEPANDA__GET_SPACE_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.space_id = (char *)a.pos[0];
        return spc_call_print(c, o, "/spacepanda.SpaceService/GetSpace", &req.base,
                              &spacepanda__space__descriptor);
    }
    return spc_usage("space");
}
SPC_COMMAND("space", "create NAME [--description T] [--public|--private] | list | get SPACE_ID  [--token T]",
            "spaces (token: --token or $SPACEPANDA_TOKEN)", cmd_space)

static int cmd_channel(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    args a;
    if (argc < 2 || parse(argc, argv, &a) != 0)
        return spc_usage("channel");
    const char *sub = argv[1];
    if (strcmp(sub, "create") == 0 && a.npos == 2) {
        Spacepanda__CreateChannelRequest req = SPACEPANDA__CREATE_CHANNEL_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.space_id = (char *)a.pos[0];
        req.name = (char *)a.pos[1];
        req.description = (char *)a.description;
        req.visibility = (Spacepanda__ChannelVisibility)a.visibility;
        return spc_call_print(c, o, "/spacepanda.SpaceService/CreateChannel", &req.base,
                              &spacepanda__create_channel_response__descriptor);
    }
    if (strcmp(sub, "list") == 0 && a.npos == 1) {
        Spacepanda__ListChannelsRequest req = SPACEPANDA__LIST_CHANNELS_REQUEST__INIT;
        req.session_token = (char *)a.token;
        req.space_id = (char *)a.pos[0];
        return spc_call_print(c, o, "/spacepanda.SpaceService/ListChannels", &req.base,
                              &spacepanda__list_channels_response__descriptor);
    }
    return spc_usage("channel");
}
SPC_COMMAND("channel", "create SPACE_ID NAME [--description T] [--public|--private] | list SPACE_ID  [--token T]",
            "channels of a space (token: --token or $SPACEPANDA_TOKEN)", cmd_channel)
