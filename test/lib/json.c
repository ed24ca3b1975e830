/* json.c — recursive-descent JSON parser for test vectors. */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t i, n;
    int err;
} parser;

static void ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\n' || p->s[p->i] == '\r' || p->s[p->i] == '\t'))
        p->i++;
}

static json *node(json_type t)
{
    json *j = calloc(1, sizeof *j);
    if (j)
        j->type = t;
    return j;
}

static int push(json *j, json *item, char *key)
{
    if ((j->count & (j->count - 1)) == 0) { /* grow at powers of two */
        size_t cap = j->count ? j->count * 2 : 1;
        json **it = realloc(j->items, cap * sizeof *it);
        if (!it)
            return -1;
        j->items = it;
        if (j->type == JSON_OBJ) {
            char **k = realloc(j->keys, cap * sizeof *k);
            if (!k)
                return -1;
            j->keys = k;
        }
    }
    j->items[j->count] = item;
    if (j->type == JSON_OBJ)
        j->keys[j->count] = key;
    j->count++;
    return 0;
}

static char *parse_string(parser *p, size_t *out_len)
{
    if (p->i >= p->n || p->s[p->i] != '"') {
        p->err = 1;
        return NULL;
    }
    p->i++;
    size_t cap = 16, len = 0;
    char *out = malloc(cap);
    while (out && p->i < p->n && p->s[p->i] != '"') {
        char c = p->s[p->i++];
        if (c == '\\' && p->i < p->n) {
            char e = p->s[p->i++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': /* vectors hold only ASCII; keep the low byte */
                if (p->i + 4 > p->n) { p->err = 1; free(out); return NULL; }
                c = (char)strtol((char[]){p->s[p->i + 2], p->s[p->i + 3], 0}, NULL, 16);
                p->i += 4;
                break;
            default: c = e;
            }
        }
        if (len + 2 > cap) {
            cap *= 2;
            char *o = realloc(out, cap);
            if (!o) { free(out); out = NULL; break; }
            out = o;
        }
        out[len++] = c;
    }
    if (!out || p->i >= p->n) {
        free(out);
        p->err = 1;
        return NULL;
    }
    p->i++;
    out[len] = '\0';
    if (out_len)
        *out_len = len;
    return out;
}

static json *parse_value(parser *p, int depth)
{
    ws(p);
    if (p->i >= p->n || depth > 64) {
        p->err = 1;
        return NULL;
    }
    char c = p->s[p->i];
    json *j = NULL;
    if (c == '{' || c == '[') {
        j = node(c == '{' ? JSON_OBJ : JSON_ARR);
        char close = c == '{' ? '}' : ']';
        p->i++;
        ws(p);
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return j;
        }
        for (;;) {
            char *key = NULL;
            if (j->type == JSON_OBJ) {
                ws(p);
                key = parse_string(p, NULL);
                ws(p);
                if (!key || p->i >= p->n || p->s[p->i] != ':') { free(key); p->err = 1; break; }
                p->i++;
            }
            json *v = parse_value(p, depth + 1);
            if (!v || push(j, v, key)) { free(key); json_free(v); p->err = 1; break; }
            ws(p);
            if (p->i < p->n && p->s[p->i] == ',') { p->i++; continue; }
            if (p->i < p->n && p->s[p->i] == close) { p->i++; break; }
            p->err = 1;
            break;
        }
    } else if (c == '"') {
        j = node(JSON_STR);
        j->str = parse_string(p, &j->str_len);
    } else if (p->n - p->i >= 4 && !strncmp(p->s + p->i, "true", 4)) {
        j = node(JSON_BOOL); j->num = 1; p->i += 4;
    } else if (p->n - p->i >= 5 && !strncmp(p->s + p->i, "false", 5)) {
        j = node(JSON_BOOL); p->i += 5;
    } else if (p->n - p->i >= 4 && !strncmp(p->s + p->i, "null", 4)) {
        j = node(JSON_NULL); p->i += 4;
    } else {
        char *end;
        j = node(JSON_NUM);
        j->num = strtod(p->s + p->i, &end);
        if (end == p->s + p->i) p->err = 1;
        p->i = (size_t)(end - p->s);
    }
    if (p->err) {
        json_free(j);
        return NULL;
    }
    return j;
}

json *json_parse(const char *text, size_t len)
{
    parser p = {text, 0, len, 0};
    json *j = parse_value(&p, 0);
    if (!j)
        fprintf(stderr, "json: syntax error near offset %zu\n", p.i);
    return j;
}

json *json_load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    json *j = NULL;
    if (buf && fread(buf, 1, (size_t)sz, f) == (size_t)sz) {
        buf[sz] = 0;
        j = json_parse(buf, (size_t)sz);
    }
    free(buf);
    fclose(f);
    return j;
}

void json_free(json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->count; i++) {
        json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->str);
    free(j);
}

json *json_get(const json *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

json *json_at(const json *arr, size_t i)
{
    if (!arr || arr->type != JSON_ARR || i >= arr->count)
        return NULL;
    return arr->items[i];
}

size_t json_len(const json *arr) { return arr && arr->type == JSON_ARR ? arr->count : 0; }
const char *json_str(const json *j) { return j && j->type == JSON_STR ? j->str : NULL; }
uint64_t json_u64(const json *j) { return j && j->type == JSON_NUM ? (uint64_t)j->num : 0; }
int json_bool(const json *j) { return j && j->type == JSON_BOOL && j->num != 0; }
const char *json_gets(const json *obj, const char *key) { return json_str(json_get(obj, key)); }
uint64_t json_getu(const json *obj, const char *key) { return json_u64(json_get(obj, key)); }

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t *json_gethex(const json *obj, const char *key, size_t *len)
{
    *len = 0;
    const json *j = json_get(obj, key);
    if (!j || j->type != JSON_STR || j->str_len % 2)
        return NULL;
    size_t n = j->str_len / 2;
    uint8_t *out = malloc(n ? n : 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(j->str[2 * i]), lo = hexval(j->str[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n;
    return out;
}
