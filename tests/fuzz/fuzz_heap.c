/*
 * tests/fuzz/fuzz_heap.c - libFuzzer target: operation sequences on the
 * general heap, checked by the shadow model (tests/host/heap_shadow.h).
 *
 * Input format (every byte string is valid; a short tail is ignored):
 *
 *   byte 0      source: 0 Linux strict (decommitted pages fault),
 *               1 Linux grow-only, 2 static 2 MiB buffer, 3 Linux without map
 *   bytes 1..4  tunables, one byte each (small values, so that trimming,
 *               decommitting, mapping and new arenas all happen on little
 *               memory): grow_min, release_keep, release_threshold,
 *               map_threshold + arena capacity
 *   then 5-byte operations  [op a b c d]:
 *     op % 8 = 0,1  alloc  size = a | (b % 8) << 8 (up to 2 KiB), times
 *                          2^(d % 6) when c == 0xFF (up to 64 KiB: fresh pages
 *                          are what makes a run slow, and the small tunables
 *                          make every path reachable anyway); alignment
 *                          1 << (d % 32) when d % 32 <= 16, else default
 *              2    calloc the same size
 *              3,4  free live block (a | b << 8), double free when c == 0xFF
 *              5    realloc live block (a | b << 8) to c | (d % 16) << 8
 *              6    probe bad pointers: block a, kind c
 *              7    checkpoint (heap_check, every tag, stats) when c < 8,
 *                   else like 0 (a checkpoint costs O(live bytes): keep them rare)
 *
 * Any error the model finds prints its message and aborts, which libFuzzer
 * records as a crash with the input that caused it.
 *
 * The Makefile links a fuzz target with mm/ only, so the model's source is
 * included here rather than linked.
 */
/* The model's own code gets no coverage feedback: the heap's paths are what to explore. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "heap_shadow.c"
#pragma clang attribute pop

#include "mm/heap_general.h"
#include "mm/host/source_linux.h"
#include "mm/source_static.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_LIVE 128

struct input {
    const uint8_t *data;
    size_t left;
};

static uint8_t input_byte(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->data++;
}

/* One of the four sources, by number; *sst is used for the static one. */
static struct heap_source *make_source(unsigned kind, struct source_static *sst)
{
    static unsigned char buffer[2 * 1024 * 1024];
    struct source_linux_config c = {.capacity = 8u << 20, .map_limit = 4u << 20};
    switch (kind % 4) {
    case 0:
        c.flags = SOURCE_LINUX_STRICT;
        break;
    case 1:
        c.flags = SOURCE_LINUX_GROW_ONLY;
        break;
    case 2:
        return source_static_init(sst, buffer, sizeof buffer, 0);
    default:
        c.flags = SOURCE_LINUX_NO_MAP;
        break;
    }
    return source_linux_create(&c);
}

/* Tunables from four bytes; small, so that every path is reached on a few MiB. */
static struct heap_general_config make_tunables(struct input *in)
{
    struct heap_general_config t = {0};
    t.grow_min = (size_t)(input_byte(in) % 16 + 1) * 4096;
    t.release_keep = (size_t)(input_byte(in) % 16 + 1) * 4096;
    t.release_threshold = (size_t)(input_byte(in) % 64 + 1) * 4096;
    uint8_t m = input_byte(in);
    t.map_threshold = (size_t)(m % 16 + 1) * 16384;
    t.arena_capacity = (size_t)(m / 16 + 1) * 65536;
    return t;
}

/* The footprint the heap may keep after everything is freed: its hysteresis. */
static size_t footprint_slack(const struct heap_general_config *t, unsigned kind)
{
    if (kind % 4 == 1)
        return SIZE_MAX / 2; /* no shrink: nothing can go back */
    size_t floor = t->release_keep + t->grow_min + 4096;
    return t->release_threshold > floor ? t->release_threshold : floor;
}

static void run_operation(struct heap_shadow *s, struct input *in)
{
    uint8_t op = input_byte(in), a = input_byte(in), b = input_byte(in);
    uint8_t c = input_byte(in), d = input_byte(in);
    size_t which = (size_t)a | (size_t)b << 8;
    size_t size = ((size_t)a | (size_t)(b % 8) << 8) << (c == 0xFF ? d % 6 : 0);
    size_t align = d % 32 <= 16 ? (size_t)1 << (d % 32) : 0;
    switch (op % 8) {
    case 7:
        if (c < 8) {
            heap_shadow_checkpoint(s);
            break;
        }
        /* fall through */
    case 0:
    case 1:
        heap_shadow_alloc(s, size, align, 0);
        break;
    case 2:
        heap_shadow_alloc(s, size, 0, 1);
        break;
    case 3:
    case 4:
        heap_shadow_free(s, which, c == 0xFF);
        break;
    case 5:
        heap_shadow_realloc(s, which, (size_t)c | (size_t)(d % 16) << 8);
        break;
    default:
        heap_shadow_probe(s, a, c);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct source_static sst;
    unsigned kind = input_byte(&in);
    struct heap_general_config t = make_tunables(&in);
    struct heap_source *src = make_source(kind, &sst);
    struct heap *h = src ? heap_general_create_with(src, &t) : NULL;
    struct heap_shadow *s = h ? heap_shadow_open(h, MAX_LIVE) : NULL;
    if (!s)
        abort(); /* every configuration above must give a working heap */
    while (in.left >= 5 && heap_shadow_errors(s) == 0)
        run_operation(s, &in);
    char msg[256];
    unsigned long errors = heap_shadow_close(s, footprint_slack(&t, kind), msg, sizeof msg);
    heap_general_destroy(h);
    if (kind % 4 != 2)
        source_linux_destroy(src);
    if (errors) {
        fprintf(stderr, "fuzz_heap: %lu error(s): %s\n", errors, msg);
        abort();
    }
    return 0;
}
