/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A fake hypervisor for xenibd's Xen mode (xd_hv), shared by the unit tests
 * tests/unit/test_xen_*.c and the fuzzer fuzz/fuzz_xen.c.  A "grant
 * ref" r names page r - 1 of a memfd standing in for the guest's memory;
 * 0 and refs past FX_PAGES are bad (EFAULT).  Ports bind to port + 1000,
 * except FX_BAD_PORT, which fails.
 */
#ifndef XENIB_FAKE_XEN_H
#define XENIB_FAKE_XEN_H

#include <stdint.h>

#include "util/hv_xen_backend.h"	/* struct hvx_dominfo */

#define FX_PAGES	4096u		/* fake guest memory, pages */
#define FX_BAD_PORT	999u

/* What xenibd did through the fake, for leak and balance checks. */
struct fx_counts {
	unsigned int bind, unbind, notify, map, unmap, disarm, xs_writes;
	unsigned int xs_reads, xs_dirs;	/* xenstore reads, directory lists */
};
extern struct fx_counts fx;

/*
 * The fake xenstore: a flat map of paths to values (directories are path
 * prefixes) with watches that fire on writes and removals at or below
 * their path; transactions always commit.  Domains 0..FX_DOMAINS-1 exist
 * as fx_dominfo says.
 */
#define FX_DOMAINS	16u
int fx_xs_write(const char *path, const char *val);
const char *fx_xs_get(const char *path);
void fx_xs_rm(const char *path);
/* The node dir/ctx/k/leaf (a frontend's or backend's context k). */
int fx_ctx_write(const char *dir, uint32_t k, const char *leaf,
		 const char *val);
const char *fx_ctx_get(const char *dir, uint32_t k, const char *leaf);
extern struct hvx_dominfo fx_dominfo[FX_DOMAINS];

/* Create the guest memory and install the fake as xd_hv.  0 or -1. */
int fx_init(void);
/*
 * A unit test's start: line-buffered stdout, xenibd's defaults for
 * max_guests guests and its state, then fx_init().  0 or -1.
 */
int fx_unit_init(unsigned int max_guests);
/* The guest's view of the page of grant ref r (1 <= r <= FX_PAGES). */
void *fx_page(uint32_t r);
/*
 * The guest writes the grant-ref directory of a region of npages at refs
 * first.. (MAP_REGION): the directory at ref dir, its list pages at
 * list.. (all refs, i.e. guest page + 1).
 */
void fx_make_dir(uint32_t dir, uint32_t list, uint32_t first,
		 uint32_t npages);

#endif /* XENIB_FAKE_XEN_H */
