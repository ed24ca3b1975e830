/*
 * main.c — build/mls-vectors CATEGORY FILE.json: runs one file of official
 * MLS/HPKE test vectors through src/mls and prints each failing case, then
 * "N passed, N failed". Exits 0 only if at least one case ran and none failed.
 * `mls-vectors --list` prints the categories this build knows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vectors.h"

#define MAX_CATEGORIES 64

static struct {
    const char *name;
    vec_fn fn;
} g_cats[MAX_CATEGORIES];
static int g_ncats;
static const char *g_current;

void vec_register(const char *name, vec_fn fn)
{
    if (g_ncats < MAX_CATEGORIES) {
        g_cats[g_ncats].name = name;
        g_cats[g_ncats].fn = fn;
        g_ncats++;
    }
}

void vec_case(vec_stats *st, size_t index, int ok, const char *why)
{
    if (ok) {
        st->passed++;
    } else {
        st->failed++;
        printf("FAIL %s case %zu: %s\n", g_current, index, why ? why : "mismatch");
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < g_ncats; i++)
            printf("%s\n", g_cats[i].name);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: mls-vectors CATEGORY FILE.json | --list\n");
        return 2;
    }
    vec_fn fn = NULL;
    for (int i = 0; i < g_ncats; i++)
        if (strcmp(g_cats[i].name, argv[1]) == 0)
            fn = g_cats[i].fn;
    if (!fn) {
        fprintf(stderr, "mls-vectors: unknown category '%s' (try --list)\n", argv[1]);
        return 2;
    }
    json *root = json_load_file(argv[2]);
    if (!root) {
        fprintf(stderr, "mls-vectors: cannot read %s\n", argv[2]);
        return 2;
    }
    g_current = argv[1];
    vec_stats st = {0, 0};
    fn(root, &st);
    json_free(root);
    printf("%d passed, %d failed\n", st.passed, st.failed);
    return (st.failed == 0 && st.passed > 0) ? 0 : 1;
}
