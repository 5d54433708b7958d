/*
 * kernel/demo.h - what a normal boot shows after the boot log.
 */
#ifndef KERNEL_DEMO_H
#define KERNEL_DEMO_H

/*
 * Run a few user programs at once - one printing its heap's reserved,
 * committed and backed memory as it allocates and frees, one killed for
 * touching address 0 - and show the free frame count coming back to where
 * it started.  Does nothing (but say so) without an initrd.
 */
void demo_run(void);

#endif
