/*
 * mm/host/preload/preload_guard.c - the guard-page mode of libmm.so
 * (Electric Fence / PageHeap / GWP-ASan style).
 *
 * How it works: with MM_GUARD set, one debug guard heap (mm/heap_debug.h)
 * is created on a strict source (decommitted pages are PROT_NONE), and
 * every allocation - or one in N, counted per thread - is served from it.
 * Each guarded block ends against a page that faults, and a freed block's
 * pages fault until the window has gone round, so an overrun past the end
 * or a use after free stops the program at the faulting instruction.  A
 * SIGSEGV/SIGBUS handler then asks the debug heap what the address was
 * (heap_debug_explain_access, heap_debug_lookup) and prints the explanation
 * with the faulting instruction, the allocating and the freeing call sites
 * named as "function+0xoff (module+0xoff)": module offsets are what
 * `addr2line -e module` takes to give a file and line.  Then the previous
 * disposition is restored and the access re-executed, so the program ends
 * as it would have (a core dump, a debugger stop).  Faults outside the
 * window go straight to the previous handler.
 *
 * Bugs found at free time (an overrun too small to reach the guard page,
 * caught by the slack signature; a double free) are reported by the debug
 * heap through mm_report; while a guard block is being freed this file
 * adds that block's call sites and the current free's to the report.
 *
 * Costs: a guarded block takes at least two pages of address space and one
 * frame, and each allocation and free is a system call or two; sampling
 * (MM_GUARD=N) keeps a long run affordable.  Locking: the debug heap's
 * (its instance lock); the handler reads without it (it runs while the
 * faulting thread is stopped, and only reads).
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "mm/heap_debug.h"
#include "mm/host/preload/preload.h"

#define GUARD_DEFAULT_WINDOW_MIB 256
#define GUARD_WALK 8

static struct heap *guard_heap;
static unsigned guard_every; /* 1: every allocation; N: one in N per thread */
static struct sigaction old_segv, old_bus;
static __thread unsigned guard_count __attribute__((tls_model("initial-exec")));
static __thread uintptr_t guard_freeing __attribute__((tls_model("initial-exec")));

/* A positive decimal number, or 0 when s is not one. */
static size_t parse_count(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    return (*s && *end == 0 && v > 0 && v <= (1ull << 31)) ? (size_t)v : 0;
}

int preload_guard_config(size_t *window_bytes)
{
    const char *s = getenv("MM_GUARD");
    if (!s || !*s || strcmp(s, "0") == 0)
        return 0;
    guard_every = strcmp(s, "all") == 0 ? 1 : (unsigned)parse_count(s);
    if (guard_every == 0) {
        preload_print("libmm: MM_GUARD=%s is neither 'all' nor a number N (one in N); "
                      "guard mode off",
                      s);
        return 0;
    }
    size_t mib = GUARD_DEFAULT_WINDOW_MIB;
    const char *w = getenv("MM_GUARD_WINDOW");
    if (w && *w && (mib = parse_count(w)) == 0) {
        preload_print("libmm: MM_GUARD_WINDOW=%s is not a number of MiB; using %d", w,
                      GUARD_DEFAULT_WINDOW_MIB);
        mib = GUARD_DEFAULT_WINDOW_MIB;
    }
    *window_bytes = mib << 20;
    return 1;
}

int preload_guard_pick(void)
{
    return guard_every == 1 || ++guard_count % guard_every == 0;
}

/* ---------------------------------------------------------------- naming code */

void preload_name_pc(uintptr_t pc, char *buf, size_t n)
{
    Dl_info info;
    if (!dladdr((void *)pc, &info) || !info.dli_fname) {
        snprintf(buf, n, "0x%lx", (unsigned long)pc);
        return;
    }
    const char *mod = strrchr(info.dli_fname, '/');
    mod = mod ? mod + 1 : info.dli_fname;
    unsigned long off = (unsigned long)(pc - (uintptr_t)info.dli_fbase);
    if (info.dli_sname)
        snprintf(buf, n, "%s+0x%lx (%s+0x%lx)", info.dli_sname,
                 (unsigned long)(pc - (uintptr_t)info.dli_saddr), mod, off);
    else
        snprintf(buf, n, "0x%lx (%s+0x%lx)", (unsigned long)pc, mod, off);
}

/* 1 if pc is code of libmm.so itself (frames to leave out of a call-site list). */
static int pc_is_ours(uintptr_t pc)
{
    Dl_info mine, info;
    return dladdr((void *)preload_name_pc, &mine) && dladdr((void *)pc, &info) &&
           mine.dli_fbase == info.dli_fbase;
}

/*
 * Print one call-site list: return addresses (innermost first), libmm's own
 * frames left out; each is named at ret-1, the call instruction.
 */
static void print_trace(const char *what, const uintptr_t *ret, size_t n)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!ret[i] || pc_is_ours(ret[i]))
            continue;
        char name[256];
        preload_name_pc(ret[i] - 1, name, sizeof name);
        preload_print("libmm:   %s %s", first ? what : "        called from", name);
        first = 0;
    }
    if (first)
        preload_print("libmm:   %s (unknown: no frame outside libmm)", what);
}

static void print_block(const struct heap_debug_block *b)
{
    preload_print("libmm:   block 0x%lx, %zu bytes, %s", (unsigned long)b->address, b->size,
                  b->live ? "live" : "freed");
    print_trace("allocated at", b->alloc_trace, HEAP_DEBUG_TRACE);
    if (!b->live)
        print_trace("freed at    ", b->free_trace, HEAP_DEBUG_TRACE);
}

/* ---------------------------------------------------------------- free-time reports */

/* The current call chain (frame pointers), innermost first. */
__attribute__((noinline)) static size_t walk_here(uintptr_t *out, size_t max)
{
    const uintptr_t *fp = __builtin_frame_address(0);
    size_t n = 0;
    while (fp && n < max) {
        out[n++] = fp[1];
        const uintptr_t *next = (const uintptr_t *)fp[0];
        if (next <= fp || (uintptr_t)next - (uintptr_t)fp > 0x100000 ||
            ((uintptr_t)next & (sizeof(uintptr_t) - 1)))
            break;
        fp = next;
    }
    return n;
}

void preload_guard_freeing(uintptr_t block)
{
    guard_freeing = block;
}

void preload_guard_after_report(void)
{
    struct heap_debug_block b;
    if (!guard_freeing || !guard_heap || !heap_debug_lookup(guard_heap, guard_freeing, &b))
        return;
    uintptr_t here[GUARD_WALK];
    size_t n = walk_here(here, GUARD_WALK);
    print_trace("this free at", here, n);
    print_block(&b);
}

/* ---------------------------------------------------------------- faults */

static void guard_fault(int sig, siginfo_t *si, void *uc_void)
{
    const ucontext_t *uc = uc_void;
    uintptr_t addr = (uintptr_t)si->si_addr;
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (guard_heap && heap_debug_owns_address(guard_heap, addr)) {
        unsigned access =
            (uc->uc_mcontext.gregs[REG_ERR] & 2) ? HEAP_DEBUG_ACCESS_WRITE : HEAP_DEBUG_ACCESS_READ;
        char line[256], at[256];
        if (!heap_debug_explain_access(guard_heap, addr, access, line, sizeof line))
            snprintf(line, sizeof line, "access to guard page 0x%lx", (unsigned long)addr);
        preload_name_pc((uintptr_t)uc->uc_mcontext.gregs[REG_RIP], at, sizeof at);
        preload_print("libmm: guard: %s", line);
        preload_print("libmm:   faulting instruction %s", at);
        struct heap_debug_block b;
        if (heap_debug_lookup(guard_heap, addr, &b))
            print_block(&b);
    }
    /* Back to what was there; returning re-executes the access under it. */
    sigaction(sig, old, NULL);
}

void preload_guard_start(struct heap *guard)
{
    guard_heap = guard;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = guard_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    /* Only when asked: a preloaded shell would print it again in each of its children. */
    const char *v = getenv("MM_GUARD_VERBOSE");
    if (!v || !*v || strcmp(v, "0") == 0)
        return;
    if (guard_every == 1)
        preload_print("libmm: guard mode: every allocation on guard pages");
    else
        preload_print("libmm: guard mode: one allocation in %u on guard pages", guard_every);
}
