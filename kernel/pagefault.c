/*
 * kernel/pagefault.c - the page-fault handler.
 *
 * The fault path, in order:
 *   1. The VMM tries to resolve it (vmm_handle_fault): a committed page
 *      without a frame gets a zeroed frame, a stale TLB entry is flushed.
 *      Kernel and user regions alike.  Resolved: return to the instruction.
 *   2. A kernel-mode fault inside a user-copy routine resumes at the
 *      routine's fixup, which returns -EFAULT to its caller.
 *   3. Anything else is reported with the VMM's reason (guard page, not
 *      committed, protection, ...) or, for kernel accesses to present user
 *      pages, SMEP/SMAP.  Ring 0: the kernel stops (panic report).  Ring 3:
 *      the process is killed (processes register that hook).
 *      An explainer (pagefault_set_explainer: the debug allocator) may
 *      add what the address was - "out-of-bounds write 1 byte past block
 *      ..." - to the reason.
 */
#include "kernel/pagefault.h"
#include "karch.h"
#include "kernel/panic.h"
#include "kernel/usercopy.h"
#include "lib/format.h"
#include "mm/vmm.h"

static pagefault_user_fn user_fault_hook;
static unsigned long fixups_taken;
static pagefault_explain_fn explainer;

void pagefault_set_explainer(pagefault_explain_fn fn)
{
    explainer = fn;
}

void pagefault_set_user_hook(pagefault_user_fn fn)
{
    user_fault_hook = fn;
}

unsigned long pagefault_fixups(void)
{
    return fixups_taken;
}

#define EFLAGS_AC (1u << 18)

/*
 * Why a supervisor access to a present user page was refused, or NULL.
 * These must be caught before the VMM looks: the page-table entry allows
 * the access, so the VMM would take the fault for a stale TLB entry and
 * retry forever.  With EFLAGS.AC set (inside the user-copy routines) SMAP
 * does not apply.  A ring-3 instruction can cause such a fault too: the
 * CPU's own implicit accesses (descriptor tables, QEMU's virtual-8086 iret
 * frame) are supervisor accesses even at CPL 3, and SMAP refuses them.
 */
static const char *smep_smap_reason(const struct trap_frame *f, uintptr_t addr)
{
    if ((f->error & (PF_USER | PF_PRESENT)) != PF_PRESENT || addr >= USER_END || addr < USER_START)
        return 0;
    if ((f->error & PF_FETCH) && cpu_features.smep)
        return "SMEP: the kernel tried to execute a user page";
    if (!(f->error & PF_FETCH) && cpu_features.smap && trap_from_user(f))
        return "SMAP: a ring-3 instruction made a supervisor-mode access to user memory";
    if (!(f->error & PF_FETCH) && cpu_features.smap && !(trap_flags(f) & EFLAGS_AC))
        return "SMAP: the kernel touched user memory outside the user-copy routines";
    return 0;
}

static int page_fault(struct trap_frame *f)
{
    uintptr_t addr = read_cr2();
    const char *special = smep_smap_reason(f, addr);
    int r = special ? VMM_FAULT_PROTECTION : vmm_handle_fault(vmm_current_space(), addr, (unsigned)f->error);
    if (r == VMM_FAULT_RESOLVED)
        return 1;

    if (!trap_from_user(f)) {
        uintptr_t resume = usercopy_fixup(trap_pc(f));
        if (resume && addr < USER_END) {
            fixups_taken++;
            trap_set_pc(f, resume);
            return 1;
        }
    }

    char why[320], what[192];
    const char *reason = special ? special : vmm_fault_reason(r);
    if (explainer && explainer(addr, (uint32_t)f->error, what, sizeof what))
        fmt_snprintf(why, sizeof why, "%s: %s", reason, what);
    else
        fmt_snprintf(why, sizeof why, "%s", reason);
    if (trap_from_user(f) && user_fault_hook && user_fault_hook(f, addr, r, why))
        return 1; /* the offending process is gone; f now resumes something else */
    fault_fatal(f, why);
}

void pagefault_init(void)
{
    trap_set_handler(TRAP_PAGE_FAULT, page_fault);
}
