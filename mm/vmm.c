/*
 * mm/vmm.c - the VMM's entry points: vmm_init, address spaces, the
 * page-fault handler's entry, commit accounting, statistics and the
 * consistency check.
 *
 * How it works.
 *
 * The kernel half's top-level entries are built once
 * (vmm_pt_build_kernel_half); vmm_g.kernel_top keeps a copy of them (256 on
 * i386 and on x86-64) and every new top-level table gets them.  Since they never change afterwards, a kernel mapping made in any
 * space is in every space and no directory ever needs a resync.  The fixed
 * kernel areas (low map, boot map, the VMM's record pages, the windows) are
 * recorded as permanent regions so nothing else is ever reserved there.
 *
 * A space is a directory plus a region tree; destroying one walks its user
 * directory entries and frees every owned frame, every table, the directory
 * and every record (vmm_pt.c, vmm_region.c).
 *
 * Accounting: stats.committed / stats.backed count pages in COMMITTED regions
 * of all spaces; committed - backed is what faults may still ask for.  Under
 * STRICT every commit, and every frame the VMM takes for itself, must fit in
 * (free + reclaimable frames - margin - that outstanding amount), and commits
 * create their page tables up front, so a fault always finds a frame.  Under
 * OVERCOMMIT nothing is checked and a fault may fail (VMM_FAULT_NOMEM).
 *
 * Locking: public functions take the VMM lock (mm_lock_vmm); the internal
 * ones (vmm_internal.h) expect it held.  The PMM is called with the VMM lock
 * held, never the reverse.
 */
#include "mm/vmm_internal.h"

#include <string.h>

#define PAGE ((uintptr_t)MM_PAGE_SIZE)
#define KTOP0 VMM_KTOP0

struct vmm_globals vmm_g;

/* ------------------------------------------------------------------ lock */

void vmm_lock(void)
{
    mm_lock_vmm();
}

void vmm_unlock(void)
{
    mm_unlock_vmm();
}

/* ------------------------------------------------------------------ accounting */

static size_t outstanding(void)
{
    return vmm_g.stats.committed - vmm_g.stats.backed;
}

static size_t frames_available(void)
{
    return pmm_free_frames() + (vmm_g.reclaimable ? vmm_g.reclaimable() : 0);
}

bool vmm_charge_fits(size_t pages)
{
    if (vmm_g.policy == VMM_POLICY_OVERCOMMIT || pages == 0)
        return true;
    size_t avail = frames_available(), promised = outstanding() + vmm_g.margin;
    if (promised <= avail && pages <= avail - promised)
        return true;
    vmm_g.stats.commits_refused++;
    return false;
}

void vmm_count_committed(struct vmm_space *s, long delta)
{
    s->stats.committed += (size_t)delta;
    vmm_g.stats.committed += (size_t)delta;
}

void vmm_count_backed(struct vmm_space *s, long delta)
{
    s->stats.backed += (size_t)delta;
    vmm_g.stats.backed += (size_t)delta;
}

/* ------------------------------------------------------------------ init and spaces */

static void space_setup(struct vmm_space *s, pmm_paddr_t pd, bool kernel)
{
    memset(s, 0, sizeof *s);
    s->page_directory = pd;
    s->is_kernel = kernel;
    s->low = kernel ? VMM_KERNEL_BASE : VMM_USER_START;
    s->high = kernel ? VMM_KERNEL_END : VMM_USER_END;
    vmm_tree_init(&s->regions, s->low, s->high);
}

/* The fixed kernel regions every boot has. */
static void record_kernel_regions(void)
{
    struct vmm_space *k = &vmm_g.kernel;
    const unsigned fixed = VMM_REGION_PERMANENT | VMM_REGION_FOREIGN;

    vmm_region_insert(k, VMM_KERNEL_BASE, VMM_LOWMAP_END, VMM_REGION_MAPPED,
                      VMM_PROT_RW | VMM_PROT_EXEC, fixed);
    vmm_region_insert(k, VMM_BOOTMAP_START, VMM_BOOTMAP_END, VMM_REGION_MAPPED, VMM_PROT_RW,
                      VMM_REGION_PERMANENT);
    vmm_region_insert(k, VMM_KREGION_START, VMM_KREGION_START + VMM_META_SIZE, VMM_REGION_MAPPED,
                      VMM_PROT_RW, fixed);
    vmm_region_insert(k, VMM_WINDOW_START, VMM_WINDOW_END, VMM_REGION_MAPPED, VMM_PROT_RW, fixed);
    /* mappings the boot code made in the boot-map area count as page-level mappings */
    k->stats.mapped = vmm_pte_count_backed(k, VMM_BOOTMAP_START, VMM_BOOTMAP_END);
}

static size_t default_margin(void)
{
    struct pmm_stats st;

    pmm_get_stats(&st);
    return st.total / 64;
}

int vmm_init(const struct vmm_boot *boot)
{
    if (vmm_g.ready || !boot || boot->policy > VMM_POLICY_OVERCOMMIT)
        return VMM_EINVAL;
    pmm_paddr_t pd = boot->page_directory ? boot->page_directory : mm_current_page_directory();
    if (pd & (PAGE - 1))
        return VMM_EINVAL;

    memset(&vmm_g, 0, sizeof vmm_g);
    space_setup(&vmm_g.kernel, pd, true);
    vmm_g.global_pages = (boot->flags & VMM_BOOT_GLOBAL) != 0;
    vmm_g.policy = boot->policy;
    vmm_g.margin = boot->commit_margin ? boot->commit_margin : default_margin();

    pte_t *dir = mm_kmap(pd);
    int rc = vmm_pt_build_kernel_half(dir);
    if (rc == VMM_OK)
        memset(dir, 0, KTOP0 * sizeof(pte_t)); /* the boot identity map, if still there */
    mm_kunmap(dir);
    if (rc != VMM_OK)
        return rc;
    mm_tlb_flush_all();

    vmm_regions_init();
    record_kernel_regions();
    vmm_g.current = &vmm_g.kernel;
    vmm_g.ready = true;
    return VMM_OK;
}

struct vmm_space *vmm_kernel_space(void)
{
    return &vmm_g.kernel;
}

struct vmm_space *vmm_current_space(void)
{
    return vmm_g.current;
}

int vmm_space_create(struct vmm_space *space)
{
    vmm_lock();
    pmm_paddr_t pd = vmm_charge_fits(1) ? vmm_frame_alloc() : PMM_NONE;
    if (pd == PMM_NONE) {
        vmm_unlock();
        return VMM_ENOMEM;
    }
    pte_t *dir = mm_kmap(pd);
    memset(dir, 0, KTOP0 * sizeof(pte_t));
    memcpy(dir + KTOP0, vmm_g.kernel_top, sizeof vmm_g.kernel_top);
    mm_kunmap(dir);
    space_setup(space, pd, false);
    vmm_unlock();
    return VMM_OK;
}

void vmm_space_destroy(struct vmm_space *space)
{
    if (!space || space->is_kernel || !space->page_directory) {
        mm_report("vmm_space_destroy: %p is not a live user space", (void *)space);
        return;
    }
    vmm_lock();
    if (mm_current_page_directory() == space->page_directory)
        mm_load_page_directory(vmm_g.kernel.page_directory);
    if (vmm_g.current == space)
        vmm_g.current = &vmm_g.kernel;
    vmm_pt_destroy_user(space);
    vmm_frame_free(space->page_directory);
    vmm_count_committed(space, -(long)space->stats.committed);
    vmm_count_backed(space, -(long)space->stats.backed);
    vmm_regions_drop_all(space);
    space->page_directory = 0;
    vmm_unlock();
}

void vmm_space_switch(struct vmm_space *space)
{
    vmm_lock();
    if (mm_current_page_directory() != space->page_directory)
        mm_load_page_directory(space->page_directory);
    vmm_g.current = space;
    vmm_unlock();
}

void vmm_space_get_stats(struct vmm_space *space, struct vmm_space_stats *st)
{
    vmm_lock();
    *st = space->stats;
    st->regions = space->regions.count;
    vmm_unlock();
}

/* ------------------------------------------------------------------ the fault entry point */

int vmm_handle_fault(struct vmm_space *space, uintptr_t addr, unsigned access)
{
    uintptr_t page = addr & ~(PAGE - 1);
    struct vmm_space *s = space_for(space, page);
    int rc;

    vmm_lock();
    if (access & VMM_ACCESS_RSVD)
        rc = VMM_FAULT_BAD_ENTRY;
    else if (page >= VMM_KERNEL_BASE && (access & VMM_ACCESS_USER))
        rc = VMM_FAULT_KERNEL_ADDRESS;
    else if (!vmm_g.ready || !s)
        rc = page < PAGE ? VMM_FAULT_NULL : VMM_FAULT_UNMAPPED;
    else
        rc = vmm_pt_fault(s, page, access);
    size_t *counter =
        rc == VMM_FAULT_RESOLVED ? &vmm_g.stats.faults_resolved : &vmm_g.stats.faults_failed;
    ++*counter;
    if (s && vmm_g.ready)
        ++*(rc == VMM_FAULT_RESOLVED ? &s->stats.faults_resolved : &s->stats.faults_failed);
    vmm_unlock();
    return rc;
}

const char *vmm_fault_reason(int code)
{
    switch (code) {
    case VMM_FAULT_RESOLVED:
        return "resolved";
    case VMM_FAULT_UNMAPPED:
        return "address not mapped";
    case VMM_FAULT_NOT_COMMITTED:
        return "reserved but not committed";
    case VMM_FAULT_PROTECTION:
        return "access not allowed by the protection";
    case VMM_FAULT_GUARD:
        return "guard page (overrun or stack overflow)";
    case VMM_FAULT_NOMEM:
        return "out of memory backing a committed page";
    case VMM_FAULT_KERNEL_ADDRESS:
        return "user access to a kernel address";
    case VMM_FAULT_NULL:
        return "null pointer (page 0)";
    case VMM_FAULT_BAD_ENTRY:
        return "reserved bit set in a page-table entry";
    default:
        return "unknown fault code";
    }
}

const char *vmm_strerror(int err)
{
    switch (err) {
    case VMM_OK:
        return "success";
    case VMM_ENOMEM:
        return "out of memory";
    case VMM_EINVAL:
        return "invalid argument";
    case VMM_EEXIST:
        return "range already in use";
    case VMM_ENOENT:
        return "range not reserved";
    case VMM_EPERM:
        return "operation not allowed on this region";
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------ policy and stats */

void vmm_get_stats(struct vmm_stats *st)
{
    vmm_lock();
    *st = vmm_g.stats;
    st->policy = vmm_g.policy;
    st->outstanding = outstanding();
    st->available = frames_available();
    st->margin = vmm_g.margin;
    vmm_unlock();
}

int vmm_set_policy(enum vmm_policy policy)
{
    int rc = VMM_OK;

    if (policy != VMM_POLICY_STRICT && policy != VMM_POLICY_OVERCOMMIT)
        return VMM_EINVAL;
    vmm_lock();
    if (policy == VMM_POLICY_STRICT && outstanding() + vmm_g.margin > frames_available())
        rc = VMM_ENOMEM;
    else
        vmm_g.policy = policy;
    vmm_unlock();
    return rc;
}

enum vmm_policy vmm_get_policy(void)
{
    return vmm_g.policy;
}

void vmm_set_reclaimable(size_t (*count_frames)(void))
{
    vmm_lock();
    vmm_g.reclaimable = count_frames;
    vmm_unlock();
}

/* ------------------------------------------------------------------ consistency check */

static void tree_report(const char *what, uintptr_t at)
{
    mm_report("vmm_check: tree: %s at 0x%lx", what, (unsigned long)at);
}

int vmm_check(struct vmm_space *space)
{
    vmm_lock();
    int errors = vmm_tree_check(&space->regions, tree_report) + vmm_regions_check(space);
    if (!space->is_kernel)
        errors += vmm_pt_check_orphans(space);
    vmm_unlock();
    return errors;
}
