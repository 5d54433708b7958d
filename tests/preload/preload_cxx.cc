// tests/preload/preload_cxx.cc - C++ new/delete through libmm.so: the
// standard library's containers and strings, new[]/delete[], aligned new,
// with libmm's allocation count rising and its live blocks back at the end.
#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mm/heap.h"

typedef int (*stats_fn)(struct heap_stats *, int);

static int failed;

static void check(bool cond, const char *what)
{
    static int n;
    std::printf("%s %d - %s\n", cond ? "ok" : "not ok", ++n, what);
    failed += !cond;
}

struct alignas(256) wide {
    char bytes[256];
};

static long work()
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 20000; i++)
        m["key " + std::to_string(i % 1000)].push_back(i);
    long sum = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            sum += v;
    int *arr = new int[1000]();
    for (int i = 0; i < 1000; i++)
        sum += arr[i];
    delete[] arr;
    auto w = std::make_unique<wide>();
    if (reinterpret_cast<std::uintptr_t>(w.get()) % 256 != 0)
        sum = -1;
    return sum;
}

int main()
{
    auto stats = reinterpret_cast<stats_fn>(dlsym(RTLD_DEFAULT, "libmm_stats"));
    check(stats != nullptr, "runs on libmm (libmm_stats found)");
    if (!stats)
        return 1;
    struct heap_stats before, after;
    stats(&before, 0);
    long sum = work();
    stats(&after, 0);
    check(sum == 199990000L, "containers give the right sum, aligned new is aligned");
    check(after.alloc_calls >= before.alloc_calls + 6000,
          "new went through libmm (1000 map nodes, 1000 vectors growing)");
    check(after.live_blocks == before.live_blocks, "delete gave every block back");
    std::printf("# preload_cxx: %d failed\n", failed);
    return failed ? 1 : 0;
}
