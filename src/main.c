/*
 * main.c — spacepandad: flags, config, signals, systemd notify; wires the layers together.
 * (Skeleton: the foundation issue fills this in.)
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("spacepandad 0.1.0");
        return 0;
    }
    fprintf(stderr, "spacepandad: not yet implemented\n");
    return 1;
}
