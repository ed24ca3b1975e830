/*
 * json.h — a small JSON reader for the test-vector files (test code only).
 *
 * json_parse builds a tree that json_free releases. Lookups on a missing key,
 * a wrong type or an out-of-range index return NULL / 0, so vector code can
 * chain them and check once.
 */
#ifndef SP_TEST_JSON_H
#define SP_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ } json_type;

typedef struct json {
    json_type type;
    double num;       /* JSON_NUM, JSON_BOOL (0/1) */
    char *str;        /* JSON_STR: NUL-terminated, unescaped */
    size_t str_len;
    struct json **items; /* JSON_ARR, JSON_OBJ values */
    char **keys;         /* JSON_OBJ */
    size_t count;
} json;

/* Parses text; NULL on a syntax error (and prints where). */
json *json_parse(const char *text, size_t len);
/* Reads and parses a file; NULL on error. */
json *json_load_file(const char *path);
void json_free(json *j);

json *json_get(const json *obj, const char *key);   /* NULL if absent or not an object */
json *json_at(const json *arr, size_t i);           /* NULL if out of range */
size_t json_len(const json *arr);                   /* items of an array, 0 otherwise */
const char *json_str(const json *j);                /* NULL if not a string */
uint64_t json_u64(const json *j);                   /* 0 if not a number */
int json_bool(const json *j);
/* Shorthands: the member `key` of obj as a string / number. */
const char *json_gets(const json *obj, const char *key);
uint64_t json_getu(const json *obj, const char *key);
/* Decodes the hex string member `key` into a malloc'd buffer (*len set).
 * Returns NULL (and *len = 0) if absent or not hex; an empty string gives a
 * non-NULL 1-byte allocation with *len = 0. Caller frees. */
uint8_t *json_gethex(const json *obj, const char *key, size_t *len);

#endif
