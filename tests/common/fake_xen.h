/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A fake hypervisor for xenibd's Xen mode (xd_hv), shared by the unit test
 * tests/unit/test_xen_backend.c and the fuzzer fuzz/fuzz_xen.c.  A "grant
 * ref" r names page r - 1 of a memfd standing in for the guest's memory;
 * 0 and refs past FX_PAGES are bad (EFAULT).  Ports bind to port + 1000,
 * except FX_BAD_PORT, which fails.
 */
#ifndef XENIB_FAKE_XEN_H
#define XENIB_FAKE_XEN_H

#include <stdint.h>

#define FX_PAGES	4096u		/* fake guest memory, pages */
#define FX_BAD_PORT	999u

/* What xenibd did through the fake, for leak and balance checks. */
struct fx_counts {
	unsigned int bind, unbind, notify, map, unmap, disarm;
};
extern struct fx_counts fx;

/* Create the guest memory and install the fake as xd_hv.  0 or -1. */
int fx_init(void);
/* The guest's view of the page of grant ref r (1 <= r <= FX_PAGES). */
void *fx_page(uint32_t r);

#endif /* XENIB_FAKE_XEN_H */
