/*
 * tests/preload/preload_family.c - the malloc family through libmm.so:
 * every function resolves into the library, keeps the C/POSIX contract,
 * and a bad free is reported once and survived.
 *
 *   preload_family            the checks (TAP-like, on stdout)
 *   preload_family badfree    free a stack address, then a block twice,
 *                             and print "survived" (MM_BAD_FREE is checked
 *                             by scripts/test.sh around it)
 *   preload_family closestderr / reusefd FILE   for MM_STATS's output
 *                             (scripts/test.sh, run_preload_stats_out)
 */
#include "preload_util.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

/* Everything fd 2 receives while fn runs. */
static size_t capture_stderr(void (*fn)(void), char *buf, size_t n)
{
    int fds[2], saved = dup(2);
    if (pipe(fds) != 0)
        return 0;
    dup2(fds[1], 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    ssize_t got = read(fds[0], buf, n - 1);
    close(fds[0]);
    buf[got > 0 ? got : 0] = 0;
    return got > 0 ? (size_t)got : 0;
}

/*
 * The reports in s: one per line, except the lines that continue a report
 * ("libmm:" and an indent - the guard mode names call sites on them).
 */
static int count_reports(const char *s)
{
    int n = 0;
    for (const char *line = s; *line;) {
        const char *end = strchr(line, '\n');
        n += strncmp(line, "libmm:  ", 8) != 0;
        if (!end)
            break;
        line = end + 1;
    }
    return n;
}

static void free_stack_address(void)
{
    int local;
    void *volatile addr = &local; /* hidden from the compiler, which would refuse it */
    free(addr);                   /* not libmm's: one report, nothing else */
}

static void *volatile kept;
static void *volatile realloc_result = (void *)1;

static void realloc_stack_address(void)
{
    int local = 7;
    void *volatile addr = &local;
    realloc_result = realloc(addr, 100); /* not libmm's: reported, NULL, local untouched */
    if (local != 7)
        realloc_result = (void *)2;
}
static volatile size_t huge = SIZE_MAX / 2; /* impossible sizes, out of the compiler's sight */

static void double_free(void)
{
    char *p = malloc(48);
    kept = p;
    free(p);
    free(kept); /* the heap reports it; the block is not freed twice */
}

static void check_resolution(void)
{
    struct {
        const char *name;
        void *fn;
    } fns[] = {
        {"malloc", (void *)(uintptr_t)malloc},
        {"free", (void *)(uintptr_t)free},
        {"calloc", (void *)(uintptr_t)calloc},
        {"realloc", (void *)(uintptr_t)realloc},
        {"reallocarray", (void *)(uintptr_t)reallocarray},
        {"memalign", (void *)(uintptr_t)memalign},
        {"posix_memalign", (void *)(uintptr_t)posix_memalign},
        {"aligned_alloc", (void *)(uintptr_t)aligned_alloc},
        {"valloc", (void *)(uintptr_t)valloc},
        {"pvalloc", (void *)(uintptr_t)pvalloc},
        {"malloc_usable_size", (void *)(uintptr_t)malloc_usable_size},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s resolves into libmm.so (found in %s)", fns[i].name,
                 module_of(fns[i].fn));
        check(strcmp(module_of(fns[i].fn), "libmm.so") == 0, what);
    }
    check(libmm_stats_lookup() != NULL, "libmm_stats is there");
}

static void check_basic(void)
{
    char *p = malloc(100);
    check(p && ((uintptr_t)p & 15) == 0 && malloc_usable_size(p) >= 100,
          "malloc(100): 16-aligned, usable size >= 100");
    memset(p, 'a', 100);
    char *q = realloc(p, 5000);
    int same = q != NULL;
    for (int i = 0; q && i < 100; i++)
        same &= q[i] == 'a';
    check(same && malloc_usable_size(q) >= 5000, "realloc to 5000 keeps the 100 bytes");
    free(q);
    unsigned char *z = calloc(1000, 7);
    int zero = z != NULL;
    for (int i = 0; z && i < 7000; i++)
        zero &= z[i] == 0;
    check(zero, "calloc(1000, 7) is zeroed");
    free(z);
    errno = 0;
    check(calloc(huge, 3) == NULL && errno == ENOMEM, "calloc overflow: NULL, ENOMEM");
    char *big = malloc(10 << 20);
    check(big != NULL, "malloc(10 MiB)");
    if (big)
        memset(big, 1, 10 << 20);
    free(big);
    check(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) == 0");
}

static void check_arrays_and_alignment(void)
{
    char *p = malloc(16);
    strcpy(p, "kept");
    errno = 0;
    char *volatile still = p; /* still valid after the failed call below */
    char *failed = reallocarray(still, huge / 2, 8);
    check(failed == NULL && errno == ENOMEM && strcmp(still, "kept") == 0,
          "reallocarray overflow: NULL, ENOMEM, block untouched");
    p = reallocarray(still, 100, 10);
    check(p && strcmp(p, "kept") == 0, "reallocarray(100, 10) keeps the contents");
    free(p);
    void *a = memalign(256, 1000), *b = aligned_alloc(4096, 4096), *c = NULL;
    int rc = posix_memalign(&c, 65536, 100);
    check(a && ((uintptr_t)a & 255) == 0 && b && ((uintptr_t)b & 4095) == 0 && rc == 0 &&
              ((uintptr_t)c & 65535) == 0,
          "memalign 256, aligned_alloc 4096, posix_memalign 64 KiB");
    void *d = (void *)1;
    check(posix_memalign(&d, 12, 10) == EINVAL && d == (void *)1,
          "posix_memalign(12): EINVAL, *out untouched");
    void *v = valloc(10), *pv = pvalloc(1);
    check(v && ((uintptr_t)v & 4095) == 0 && pv && ((uintptr_t)pv & 4095) == 0 &&
              malloc_usable_size(pv) >= 4096,
          "valloc, pvalloc: page aligned, pvalloc rounds to a page");
    free(a), free(b), free(c), free(v), free(pv);
}

static void check_bad_frees(void)
{
    char out[2048];
    capture_stderr(free_stack_address, out, sizeof out);
    check(count_reports(out) == 1 && strstr(out, "not a block allocated by libmm"),
          "free(stack address): reported once on stderr");
    capture_stderr(realloc_stack_address, out, sizeof out);
    check(count_reports(out) == 1 && realloc_result == NULL,
          "realloc(stack address): NULL, reported once, nothing touched");
    int local;
    void *volatile addr = &local;
    check(malloc_usable_size(addr) == 0, "malloc_usable_size(stack address) == 0");
    capture_stderr(double_free, out, sizeof out);
    check(count_reports(out) == 1, "double free: reported once on stderr");
    char *p = malloc(48);
    check(p != NULL && malloc_usable_size(p) >= 48, "the heap still serves after both");
    free(p);
}

/* Resident memory of the process, in KiB (/proc/self/statm). */
static long resident_kib(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 1 if every byte of p[0..n) is zero. */
static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/*
 * A large calloc is zero everywhere, on memory just freed dirty as on
 * fresh memory, and costs only the pages touched: a sparse 8 MiB table
 * adds far less than 8 MiB to the resident set (before, every page was
 * written with zeros).
 */
static void check_calloc_large(void)
{
    size_t n = 300 * 1024 + 123; /* odd size: partial pages at the end */
    unsigned char *dirty = malloc(n);
    memset(dirty, 0xa5, n);
    free(dirty); /* kept for reuse: the next block of its size may be it */
    unsigned char *z = calloc(1, n);
    check(z && all_zero(z, n), "calloc(300 KiB) on memory just freed dirty: all zero");
    free(z);
    z = calloc(3, n / 3 + 1);
    check(z && all_zero(z, n), "calloc(3, 100 KiB): all zero");
    free(z);
    long before = resident_kib();
    size_t big = (size_t)8 << 20;
    unsigned char *t = calloc(big / 64, 64);
    for (size_t i = 0; t && i < big; i += big / 16)
        t[i] = 1; /* a sparse table: 16 pages touched */
    long grew = resident_kib() - before;
    char what[128];
    snprintf(what, sizeof what, "calloc(8 MiB), 16 pages touched: resident set grew by %ld KiB "
             "(want < 1024)", grew);
    check(t && before >= 0 && grew < 1024, what);
    free(t);
}

static void check_no_leak(void)
{
    libmm_stats_fn stats = libmm_stats_lookup();
    if (!stats)
        return;
    struct heap_stats before, after;
    stats(&before, 0);
    void *ptrs[1000];
    for (int i = 0; i < 1000; i++)
        ptrs[i] = malloc((size_t)(i * 37) % 70000 + 1);
    for (int i = 0; i < 1000; i++)
        ptrs[i] = realloc(ptrs[i], (size_t)(i * 91) % 9000 + 1);
    for (int i = 999; i >= 0; i--)
        free(ptrs[i]);
    stats(&after, 0);
    check(before.live_blocks == after.live_blocks,
          "1000 malloc/realloc/free: libmm's live blocks back where they were");
}

/* MM_STATS after the program closed stderr: 100 blocks made, 60 freed, then fd 2 closed. */
static int close_stderr_and_exit(void)
{
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = malloc((size_t)i * 8 + 1);
    for (int i = 0; i < 60; i++)
        free(p[i]);
    puts("closing stderr");
    fflush(stdout);
    close(2);
    return 0;
}

/*
 * A daemon's start: every descriptor above stderr closed, then a file of
 * its own given number 100 (where libmm keeps its copy of stderr), written,
 * and stderr closed.  The file must hold only what the program wrote.
 */
static int reuse_descriptors(const char *path)
{
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    FILE *f = fopen(path, "w");
    if (!f || dup2(fileno(f), 100) != 100)
        return 1;
    fclose(f);
    ssize_t w = write(100, "data\n", 5);
    close(2);
    return w == 5 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "reusefd") == 0)
        return reuse_descriptors(argv[2]);
    if (argc > 1 && strcmp(argv[1], "closestderr") == 0)
        return close_stderr_and_exit();
    if (argc > 1 && strcmp(argv[1], "badfree") == 0) {
        free_stack_address();
        double_free();
        puts("survived");
        return 0;
    }
    check_resolution();
    check_basic();
    check_arrays_and_alignment();
    check_bad_frees();
    check_calloc_large();
    check_no_leak();
    return done("preload_family");
}
