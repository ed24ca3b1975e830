/*
 * cmd_health.c — `spacepanda health [--watch] [SERVICE]`: grpc.health.v1.
 * Prints the serving status (SERVING, NOT_SERVING, ...) on stdout; exits 0
 * only for SERVING. With --watch, prints each status as it changes until the
 * server ends the stream, then exits as for the last status seen.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "health.pb-c.h"

static const char *status_name(int s)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&grpc__health__v1__health_check_response__serving_status__descriptor, s);
    return v ? v->name : "UNKNOWN";
}

static int cmd_health(spc_client *c, int argc, char **argv, const spc_opts *o)
{
    int watch = 0;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--watch") == 0)
            watch = 1;
        else if (argv[i][0] != '-' && req.service[0] == '\0')
            req.service = argv[i];
        else
            return spc_usage("health");
    }
    spc_status st;
    if (!watch) {
        ProtobufCMessage *m = NULL;
        if (spc_unary(c, "/grpc.health.v1.Health/Check", &req.base,
                      &grpc__health__v1__health_check_response__descriptor, o->timeout_ms, &m, &st) != RPC_OK)
            return spc_report("health", &st);
        int s = ((Grpc__Health__V1__HealthCheckResponse *)m)->status;
        protobuf_c_message_free_unpacked(m, NULL);
        puts(status_name(s));
        return s == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? 0 : 1;
    }
    spc_stream *s = NULL;
    if (spc_stream_open(c, "/grpc.health.v1.Health/Watch", &req.base,
                        &grpc__health__v1__health_check_response__descriptor, 0, &s, &st) != SP_OK)
        return spc_report("health", &st);
    int last = -1;
    ProtobufCMessage *m;
    while (spc_stream_next(s, -1, &m, &st) == 1) {
        last = ((Grpc__Health__V1__HealthCheckResponse *)m)->status;
        protobuf_c_message_free_unpacked(m, NULL);
        puts(status_name(last));
        fflush(stdout);
    }
    spc_stream_close(s);
    if (st.code != RPC_OK)
        spc_report("health", &st);
    return last == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING && st.code == RPC_OK ? 0 : 1;
}

SPC_COMMAND("health", "[--watch] [SERVICE]", "the daemon's serving status (exit 0 if SERVING)", cmd_health)
