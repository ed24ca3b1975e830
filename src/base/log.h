/*
 * log.h — one line per notable event on stderr, with a timestamp and level.
 *
 * The level threshold is process-wide (set once from --log-level). Lines look
 * like: "2026-11-24T03:00:00.123Z info  rpc: listening on 127.0.0.1:50051".
 */
#ifndef SP_BASE_LOG_H
#define SP_BASE_LOG_H

typedef enum { SP_LOG_ERROR = 0, SP_LOG_WARN = 1, SP_LOG_INFO = 2, SP_LOG_DEBUG = 3 } sp_log_level;

void sp_log_set_level(sp_log_level level);
sp_log_level sp_log_get_level(void);
/* Parses "error|warn|info|debug"; returns 0 on success, -1 otherwise. */
int sp_log_parse_level(const char *s, sp_log_level *out);
void sp_log(sp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SP_ERROR(...) sp_log(SP_LOG_ERROR, __VA_ARGS__)
#define SP_WARN(...) sp_log(SP_LOG_WARN, __VA_ARGS__)
#define SP_INFO(...) sp_log(SP_LOG_INFO, __VA_ARGS__)
#define SP_DEBUG(...) \
    do { if (sp_log_get_level() >= SP_LOG_DEBUG) sp_log(SP_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
