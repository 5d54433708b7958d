/*
 * tests/preload/preload_guard.c - planted bugs for the guard-page mode
 * (MM_GUARD).  Each mode does one thing wrong in a function of its own, so
 * that scripts/test.sh can require the report to name it:
 *
 *   overrun      plant_overrun writes one byte past a 64-byte block
 *   underrun     plant_small_overrun writes one byte past a 13-byte block
 *                (into the alignment slack: found when it is freed)
 *   uaf          plant_use_after_free reads a block that release_block freed
 *
 * Built with -rdynamic so that the report can name these functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) char *make_block(size_t n)
{
    char *p = malloc(n);
    memset(p, 'x', n);
    return p;
}

__attribute__((noinline)) void release_block(char *p)
{
    free(p);
}

__attribute__((noinline)) void plant_overrun(void)
{
    char *p = make_block(64);
    volatile char *v = p;
    v[64] = 1; /* one past the end */
    release_block(p);
}

__attribute__((noinline)) void plant_small_overrun(void)
{
    char *p = make_block(13);
    volatile char *v = p;
    v[13] = 1; /* into the slack before the guard page */
    release_block(p);
}

__attribute__((noinline)) int plant_use_after_free(void)
{
    char *p = make_block(100);
    release_block(p);
    volatile char *v = p;
    return v[8];
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("before the bug\n");
    if (strcmp(mode, "overrun") == 0)
        plant_overrun();
    else if (strcmp(mode, "small") == 0)
        plant_small_overrun();
    else if (strcmp(mode, "uaf") == 0)
        printf("%d\n", plant_use_after_free());
    printf("after the bug\n");
    return 0;
}
