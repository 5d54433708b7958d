/*
 * tests/host/test_addr_map.c - the address-to-metadata map (mm/addr_map.c).
 *
 * The map's nodes come from a counting heap that can be told to fail, so
 * the tests see how many nodes the map holds, that an empty map holds none,
 * and that a set which cannot get its nodes changes nothing.
 */
#include "harness.h"

#include "mm/addr_map.h"
#include "mm/heap.h"

#include <stdlib.h>
#include <string.h>

#define PAGE ((size_t)4096)

/* A heap of page-aligned blocks from the C library, counting what is live; fails after `budget`. */
struct node_heap {
    struct heap heap;
    size_t live, budget;
};

static void *nh_alloc(struct heap *h, size_t size, size_t align)
{
    struct node_heap *n = (struct node_heap *)h;
    if (n->budget == 0)
        return NULL;
    n->budget--;
    n->live++;
    return aligned_alloc(align, size);
}

static size_t nh_size(struct heap *h, const void *p)
{
    (void)h;
    (void)p;
    return PAGE;
}

static void nh_free(struct heap *h, void *p)
{
    ((struct node_heap *)h)->live--;
    free(p);
}

static const struct heap_ops nh_ops = {.name = "nodes", .alloc = nh_alloc, .size = nh_size,
                                       .free = nh_free};

static struct node_heap nodes(size_t budget)
{
    return (struct node_heap){{&nh_ops}, 0, budget};
}

static int tag[4];

TEST(empty_map_finds_nothing)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    CHECK(addr_map_get(&m, 0) == NULL);
    CHECK(addr_map_get(&m, (uintptr_t)&m) == NULL);
    CHECK(addr_map_get(&m, UINTPTR_MAX) == NULL);
    CHECK_EQ(m.node_count, 0);
}

TEST(set_covers_exactly_its_pages)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    uintptr_t base = (uintptr_t)0x12340000u;
    CHECK_EQ(addr_map_set(&m, base, 16 * PAGE, &tag[0]), 0);
    CHECK(addr_map_get(&m, base) == &tag[0]);
    CHECK(addr_map_get(&m, base + 7 * PAGE + 123) == &tag[0]);
    CHECK(addr_map_get(&m, base + 16 * PAGE - 1) == &tag[0]);
    CHECK(addr_map_get(&m, base - 1) == NULL);
    CHECK(addr_map_get(&m, base + 16 * PAGE) == NULL);
    CHECK_EQ(m.node_count, sizeof(void *) == 4 ? 2 : 4); /* one path: root .. leaf */
    CHECK_EQ(nh.live, m.node_count);
    addr_map_clear(&m, base, 16 * PAGE);
    CHECK(addr_map_get(&m, base) == NULL);
    CHECK_EQ(m.node_count, 0);
    CHECK_EQ(nh.live, 0);
}

TEST(clear_keeps_neighbours_and_frees_only_empty_nodes)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    uintptr_t a = (uintptr_t)0x40000000u, b = (uintptr_t)0x80000000u; /* different leaves */
    CHECK_EQ(addr_map_set(&m, a, PAGE, &tag[1]), 0);
    CHECK_EQ(addr_map_set(&m, a + PAGE, PAGE, &tag[2]), 0);
    size_t one_path = m.node_count;
    CHECK_EQ(addr_map_set(&m, b, 2 * PAGE, &tag[3]), 0);
    CHECK(m.node_count > one_path);
    addr_map_clear(&m, a, PAGE);
    CHECK(addr_map_get(&m, a) == NULL);
    CHECK(addr_map_get(&m, a + PAGE) == &tag[2]); /* same leaf, still there */
    addr_map_clear(&m, b, 2 * PAGE);
    CHECK_EQ(m.node_count, one_path);
    CHECK(addr_map_get(&m, a + PAGE) == &tag[2]);
    addr_map_clear(&m, a + PAGE, PAGE);
    CHECK_EQ(nh.live, 0);
}

TEST(range_across_two_leaves)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    size_t leaf_span = PAGE * (PAGE / sizeof(void *));
    uintptr_t base = (uintptr_t)(3 * leaf_span - 2 * PAGE);
    CHECK_EQ(addr_map_set(&m, base, 4 * PAGE, &tag[0]), 0);
    for (size_t k = 0; k < 4; k++)
        CHECK(addr_map_get(&m, base + k * PAGE) == &tag[0]);
    addr_map_clear(&m, base, 4 * PAGE);
    CHECK_EQ(m.node_count, 0);
    CHECK_EQ(nh.live, 0);
}

TEST(set_without_nodes_changes_nothing)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    uintptr_t a = (uintptr_t)0x10000000u;
    CHECK_EQ(addr_map_set(&m, a, PAGE, &tag[0]), 0);
    size_t before = m.node_count;
    size_t leaf_span = PAGE * (PAGE / sizeof(void *));
    /* the second leaf of this range cannot be had: the first one made must go again */
    uintptr_t b = (uintptr_t)(5 * leaf_span - PAGE);
    nh.budget = 1;
    CHECK_EQ(addr_map_set(&m, b, 2 * PAGE, &tag[1]), -1);
    CHECK_EQ(m.node_count, before);
    CHECK_EQ(nh.live, before);
    CHECK(addr_map_get(&m, b) == NULL);
    CHECK(addr_map_get(&m, a) == &tag[0]);
    nh.budget = 100;
    addr_map_clear(&m, a, PAGE);
    CHECK_EQ(nh.live, 0);
}

#if UINTPTR_MAX > 0xffffffffu
TEST(upper_half_addresses_are_their_own)
{
    struct node_heap nh = nodes(100);
    struct addr_map m;
    addr_map_init(&m, &nh.heap, PAGE);
    uintptr_t low = (uintptr_t)0x00007f0000000000ull, high = (uintptr_t)0xffffff0000000000ull;
    CHECK_EQ(addr_map_set(&m, high, PAGE, &tag[1]), 0);
    CHECK(addr_map_get(&m, high) == &tag[1]);
    CHECK(addr_map_get(&m, low) == NULL);
    addr_map_clear(&m, high, PAGE);
    CHECK_EQ(nh.live, 0);
}
#endif
