/* cli.c — the spacepanda command-line client (skeleton: the foundation issue fills this in). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "spacepanda: not yet implemented\n");
    return 1;
}
