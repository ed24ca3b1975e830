/* log.c — timestamped, levelled log lines on stderr. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static sp_log_level g_level = SP_LOG_INFO;
static const char *const g_names[] = {"error", "warn", "info", "debug"};

void sp_log_set_level(sp_log_level level) { g_level = level; }
sp_log_level sp_log_get_level(void) { return g_level; }

int sp_log_parse_level(const char *s, sp_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, g_names[i]) == 0) {
            *out = (sp_log_level)i;
            return 0;
        }
    }
    return -1;
}

void sp_log(sp_log_level level, const char *fmt, ...)
{
    if (level > g_level)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char line[1024];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
                     g_names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line so concurrent writers do not interleave within a line */
    fprintf(stderr, "%s\n", line);
}
